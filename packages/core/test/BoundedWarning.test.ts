// Whoever floods the bus with forged tokens decides how often a drop
// happens, never how often a line is logged: the first drop after a quiet
// spell is logged at once, the rest of a flood once per period with the
// count, and nothing is lost from the counts; kinds are paced apart, and a
// burst recorded from synchronous code is one line. Under TestClock.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, References } from "effect"
import { TestClock } from "effect/testing"
import { boundedWarning, makeBoundedWarning } from "../src/BoundedWarning.ts"

interface Line {
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

const capturing = (lines: Array<Line>) =>
  Logger.layer([
    Logger.make(({ fiber, message }) => {
      const parts = Array.isArray(message) ? message : [message]
      const annotations = { ...fiber.getRef(References.CurrentLogAnnotations) }
      lines.push({ message: parts.map(String).join(" "), annotations })
    })
  ])

const settle = Effect.yieldNow.pipe(Effect.repeat({ times: 5 }))

const dropped = (lines: ReadonlyArray<Line>) => lines.map((line) => line.annotations["dropped"])

describe("makeBoundedWarning", () => {
  it.effect("logs the first drop at once, then the rest of a flood once per period with its count", () => {
    const lines: Array<Line> = []
    return Effect.gen(function*() {
      const record = yield* makeBoundedWarning("dropped untrusted tokens", 10_000)
      record("bad-signature", "project44")
      yield* settle
      assert.deepStrictEqual(dropped(lines), [1])
      assert.strictEqual(lines[0]?.message, "dropped untrusted tokens")

      // A flood: one drop every 100 ms for 25 s.
      for (let tick = 0; tick < 250; tick++) {
        record(tick % 2 === 0 ? "unsigned" : "bad-signature", "project44")
        yield* TestClock.adjust(100)
        yield* settle
      }
      // Lines at 0, 10 s and 20 s: never two within a period.
      assert.deepStrictEqual(dropped(lines), [1, 100, 100])
      assert.strictEqual(lines[1]?.annotations["reasons"], "unsigned=50 bad-signature=50")
      assert.strictEqual(lines[1]?.annotations["providers"], "project44")

      // The tail of the flood is logged when its period ends, then the warning falls quiet.
      yield* TestClock.adjust(10_000)
      yield* settle
      assert.deepStrictEqual(dropped(lines), [1, 100, 100, 50])
      yield* TestClock.adjust(60_000)
      yield* settle
      assert.strictEqual(lines.length, 4)

      // After a quiet spell, the next drop is logged at once again.
      record("implausible-version", "globex")
      yield* settle
      assert.deepStrictEqual(dropped(lines), [1, 100, 100, 50, 1])
      assert.strictEqual(lines[4]?.annotations["providers"], "globex")
    }).pipe(Effect.scoped, Effect.provide(capturing(lines)))
  })

  it.effect("names a few providers on a line, however many a flood uses", () => {
    const lines: Array<Line> = []
    return Effect.gen(function*() {
      const record = yield* makeBoundedWarning("dropped", 10_000)
      record("unsigned", "first")
      yield* settle
      for (let index = 0; index < 1000; index++) record("unsigned", `p${index}`)
      yield* TestClock.adjust(10_000)
      yield* settle
      assert.deepStrictEqual(dropped(lines), [1, 1000])
      assert.strictEqual(lines[1]?.annotations["providers"], "p0,p1,p2,p3,p4")
    }).pipe(Effect.scoped, Effect.provide(capturing(lines)))
  })
})

/** A warning whose lines are "kind: events (held)", events being what the line stands for. */
const listing = boundedWarning<string, ReadonlyArray<string>>({
  periodMillis: 10_000,
  add: (events, event) => [...(events ?? []), event],
  write: (events, held) => Effect.logWarning(`${events.join(",")} (${held})`)
})

const pass = (millis: number) => TestClock.adjust(millis).pipe(Effect.andThen(settle))

const messages = (lines: ReadonlyArray<Line>) => lines.map((line) => line.message)

describe("boundedWarning", () => {
  it.effect("record: the first event of a kind is a line before record returns; kinds do not wait for each other", () => {
    const lines: Array<Line> = []
    return Effect.gen(function*() {
      const warning = yield* listing
      yield* warning.record("get", "a")
      assert.deepStrictEqual(messages(lines), ["a (0)"])
      yield* warning.record("get", "b")
      yield* warning.record("mint", "x")
      yield* warning.record("get", "c")
      assert.deepStrictEqual(messages(lines), ["a (0)", "x (0)"])
      yield* pass(10_000)
      assert.deepStrictEqual(messages(lines), ["a (0)", "x (0)", "b,c (2)"])
    }).pipe(Effect.scoped, Effect.provide(capturing(lines)))
  })

  it.effect("recordUnsafe: a burst before the line is written is that line; the rest waits for the period", () => {
    const lines: Array<Line> = []
    return Effect.gen(function*() {
      const warning = yield* listing
      for (const event of ["a", "b", "c"]) warning.recordUnsafe("drop", event)
      warning.recordUnsafe("other", "z")
      yield* settle
      assert.deepStrictEqual(messages(lines), ["a,b,c (3)", "z (1)"])
      warning.recordUnsafe("drop", "d")
      yield* pass(9_999)
      assert.strictEqual(lines.length, 2)
      yield* pass(1)
      assert.deepStrictEqual(messages(lines), ["a,b,c (3)", "z (1)", "d (1)"])
    }).pipe(Effect.scoped, Effect.provide(capturing(lines)))
  })

  it.effect("no line once the scope is closed", () => {
    const lines: Array<Line> = []
    return Effect.gen(function*() {
      const warning = yield* Effect.scoped(listing)
      warning.recordUnsafe("drop", "late")
      yield* settle
      assert.deepStrictEqual(messages(lines), [])
    }).pipe(Effect.provide(capturing(lines)))
  })
})
