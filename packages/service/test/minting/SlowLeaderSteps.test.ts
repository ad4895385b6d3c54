// A leader's steps that may wait without end say so (warnIfSlow,
// retryWhileKvUnavailable), under TestClock: a fence or commit KV does not
// take is retried and warned about on the first failure and every 5 s, a
// refusal that is not KV's ends it at once, and a takeover still under way
// after its bound names the phase it waits in, while one that ends in time
// logs nothing.
import { assert, describe, it } from "@effect/vitest"
import { KvConflict, KvError } from "@tokenbus/nats"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { retryWhileKvUnavailable } from "../../src/leadership/internal/retryWhileKvUnavailable.ts"
import { warnIfSlow } from "../../src/minting/internal/warnIfSlow.ts"
import { capturingLogs, type LogLine } from "../support/CapturedLogs.ts"

const kvDown = new KvError({ bucket: "tb-tokens", operation: "update", message: "stream not found" })

/** A write KV refuses `failures` times, then takes; counts the attempts. */
const flakyWrite = (failures: number) => {
  let attempts = 0
  const write = Effect.suspend(() => (++attempts <= failures ? Effect.fail(kvDown) : Effect.succeed(attempts)))
  return { write, attempts: () => attempts }
}

describe("a leader's steps that may wait", () => {
  it.effect("a write KV does not take is tried every 250 ms, with a warning at the first failure and every 5 s", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const { attempts, write } = flakyWrite(45)
      const fiber = yield* Effect.forkChild(capturingLogs(lines, write.pipe(retryWhileKvUnavailable("committing"))))
      yield* TestClock.adjust(45 * 250)
      assert.strictEqual(yield* Fiber.join(fiber), 46)
      assert.strictEqual(attempts(), 46)
      const warnings = lines.filter((line) => line.message === "committing: KV did not take the write; trying again")
      assert.deepStrictEqual(warnings.map((line) => line.annotations["failures"]), [1, 21, 41])
      assert.isTrue(warnings.every((line) => line.level === "Warn" && line.annotations["error"] === kvDown.message))
    }))

  it.effect("a refusal that is not KV's (a conflict, a lost lease) ends it at once, unlogged", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const conflict = new KvConflict({ bucket: "tb-tokens", key: "acme", message: "changed since it was read" })
      const error = yield* Effect.flip(capturingLogs(lines, Effect.fail(conflict).pipe(retryWhileKvUnavailable("fencing"))))
      assert.strictEqual(error, conflict)
      assert.deepStrictEqual(lines, [])
    }))

  it.effect("a step past its bound is warned about once, naming its phase, and goes on; one in time is not", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      let phase = "waiting for a takeover slot"
      const slow = Effect.sleep(4_000).pipe(
        Effect.andThen(Effect.sync(() => void (phase = "fencing it"))),
        Effect.andThen(Effect.sleep(20_000)),
        Effect.as("taken")
      )
      const fiber = yield* Effect.forkChild(capturingLogs(lines, slow.pipe(warnIfSlow(10_000, "taking over is slow", () => phase))))
      yield* TestClock.adjust(24_000)
      assert.strictEqual(yield* Fiber.join(fiber), "taken")
      assert.deepStrictEqual(lines.map((line) => [line.at, line.message, line.annotations["phase"]]), [
        [10_000, "taking over is slow", "fencing it"]
      ])

      const quick = yield* Effect.forkChild(capturingLogs(lines, Effect.sleep(9_000).pipe(warnIfSlow(10_000, "late"))))
      yield* TestClock.adjust(20_000)
      yield* Fiber.join(quick)
      assert.strictEqual(lines.length, 1)
    }))
})
