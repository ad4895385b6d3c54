// Whoever floods the bus with forged tokens decides how often a drop
// happens, never how often a line is logged: the first drop after a quiet
// spell is logged at once, the rest of a flood once per period with the
// count, and nothing is lost from the counts. Under TestClock.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, References } from "effect"
import { TestClock } from "effect/testing"
import { makeBoundedWarning } from "../src/BoundedWarning.ts"

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
