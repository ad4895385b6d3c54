// A leader that steps down at once (its provider's state cannot be fenced or
// read, say while a NATS server is lost) must not churn through elections:
// its own release used to wake it, and it took the lock again within a few
// milliseconds, hundreds of times a second.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import { TestClock } from "effect/testing"
import { lease, makeHarness, settle } from "./LockHarness.ts"

describe("campaign after stepping down", () => {
  it.effect("lets a round pass before it campaigns again, however often lead gives up", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.start("a", { lead: () => Effect.void })
      for (let step = 0; step < 100; step++) {
        yield* TestClock.adjust(50)
        yield* settle
      }
      const elections = (yield* Ref.get(h.events)).filter((event) => event.kind === "lead").length
      // 5 s at one election per half renewal period at most (750 ms here, and a round in between).
      assert.isAtLeast(elections, 2)
      assert.isAtMost(elections, Math.ceil(5_000 / (lease.renewEveryMillis / 2)))
    }))
})
