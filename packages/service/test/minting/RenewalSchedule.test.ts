// Proactive renewal on the in-memory NATS: a renewal that keeps failing (the
// breaker holds) is tried again later and later, not every tick.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { advance, startCluster } from "../support/MemoryCluster.ts"

describe("renewOnSchedule", () => {
  it.effect("backs off after failed renewals instead of retrying every tick", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const capture = Logger.make(({ message }) => {
        const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
        if (text.includes("proactive renewal failed")) warnings.push(text)
      })
      yield* Effect.gen(function*() {
        // Tokens live an hour; renewal at 1 % of it, so within 36 s of the first token.
        const { upstream } = yield* startCluster(1, { lifecycle: { mode: "proactive", renewAt: 0.01, jitter: 0, maxAgeMillis: 12 * 3_600_000 } })
        yield* upstream.answerNext("credentials-rejected")
        yield* advance(120_000, 250)
        assert.strictEqual(yield* upstream.calls, 2, "one renewal reached the upstream; the breaker held after it")
      }).pipe(Effect.provide(Logger.layer([capture])))
      // 2, 4, 8, 16, 32, 64 s apart: a handful in 80 s, where every tick would be hundreds.
      assert.isAtLeast(warnings.length, 3)
      assert.isAtMost(warnings.length, 8)
    }))
})
