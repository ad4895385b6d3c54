// A leader may act only until `sentAt + ttl - margin` of its last successful
// acquire or renewal. These tests pin that moment to the millisecond under
// TestClock, and check which configurations are refused as unsafe.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Clock, Effect, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import {
  defaultLeaseConfig,
  type Lease,
  LeaseConfig,
  leaseConfigProblem,
  isValid,
  renewDueAt,
  validUntil
} from "../src/Lease.ts"

const config = defaultLeaseConfig // ttl 6000, renew every 1500, margin 1000

describe("Lease timing", () => {
  it.effect("isValid turns false at exactly sentAt + ttl - margin, and not before", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_000)
      const sentAt = yield* Clock.currentTimeMillis
      const lease: Lease = { revision: 7, sentAt }
      const validNow = Effect.map(Clock.currentTimeMillis, (now) => isValid(config, lease, now))

      assert.isTrue(yield* validNow)
      yield* TestClock.adjust(config.ttlMillis - config.safetyMarginMillis - 1)
      assert.isTrue(yield* validNow, "still valid 1 ms before the end")
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Clock.currentTimeMillis, sentAt + 5000)
      assert.isFalse(yield* validNow, "invalid at sentAt + ttl - margin")
      yield* TestClock.adjust(60_000)
      assert.isFalse(yield* validNow)
    }))

  it.effect("a leader checking every millisecond stops at exactly validUntil", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(42_000)
      const lease: Lease = { revision: 1, sentAt: yield* Clock.currentTimeMillis }
      const stopsAt = yield* Effect.gen(function*() {
        while (isValid(config, lease, yield* Clock.currentTimeMillis)) yield* Effect.sleep(1)
        return yield* Clock.currentTimeMillis
      }).pipe(Effect.forkChild)

      yield* TestClock.adjust(4999)
      assert.isUndefined(stopsAt.pollUnsafe(), "stopped early")
      yield* TestClock.adjust(10_000)
      assert.strictEqual(yield* Fiber.join(stopsAt), 42_000 + 5000)
      assert.strictEqual(validUntil(config, lease), 42_000 + 5000)
    }))

  it("a renewal is due renewEvery after the send time", () => {
    assert.strictEqual(renewDueAt(config, { revision: 3, sentAt: 10_000 }), 11_500)
  })

  it("isValid agrees with validUntil for any lease and time", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1000, max: 60_000 }),
      fc.integer({ min: 0, max: 999 }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: -100_000, max: 100_000 }),
      (ttlMillis, safetyMarginMillis, sentAt, offset) => {
        const c = { ttlMillis, renewEveryMillis: 100, safetyMarginMillis }
        const lease = { revision: 1, sentAt }
        const now = sentAt + offset
        assert.strictEqual(isValid(c, lease, now), offset < ttlMillis - safetyMarginMillis)
        // Never valid at or past the moment the server may drop the lock.
        if (offset >= ttlMillis) assert.isFalse(isValid(c, lease, now))
      }
    ))
  })
})

describe("leaseConfigProblem", () => {
  it("accepts the default configuration", () => {
    assert.isUndefined(leaseConfigProblem(defaultLeaseConfig))
  })

  it("refuses a margin that swallows the whole ttl", () => {
    for (const safetyMarginMillis of [6000, 7000]) {
      const problem = leaseConfigProblem({ ttlMillis: 6000, renewEveryMillis: 1000, safetyMarginMillis })
      assert.isDefined(problem)
      assert.include(problem, "safetyMarginMillis")
    }
  })

  it("refuses renewals too rare to fit two before the lease runs out", () => {
    // ttl - margin = 5000: two renewals of 2501 do not fit, two of 2500 just do.
    const problem = leaseConfigProblem({ ttlMillis: 6000, renewEveryMillis: 2501, safetyMarginMillis: 1000 })
    assert.isDefined(problem)
    assert.include(problem, "renewEveryMillis")
    assert.isUndefined(leaseConfigProblem({ ttlMillis: 6000, renewEveryMillis: 2500, safetyMarginMillis: 1000 }))
    assert.isUndefined(leaseConfigProblem({ ttlMillis: 6000, renewEveryMillis: 1500, safetyMarginMillis: 0 }))
  })

  it("any accepted configuration leaves room for two renewals inside the valid window", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1000, max: 120_000 }),
      fc.integer({ min: 1, max: 120_000 }),
      fc.integer({ min: 0, max: 120_000 }),
      (ttlMillis, renewEveryMillis, safetyMarginMillis) => {
        const c = { ttlMillis, renewEveryMillis, safetyMarginMillis }
        const lease = { revision: 1, sentAt: 0 }
        const accepted = leaseConfigProblem(c) === undefined
        assert.strictEqual(
          accepted,
          safetyMarginMillis < ttlMillis && 2 * renewEveryMillis <= ttlMillis - safetyMarginMillis
        )
        if (accepted) {
          assert.isAbove(validUntil(c, lease), lease.sentAt)
          assert.isAtMost(renewDueAt(c, lease) + renewEveryMillis, validUntil(c, lease))
        }
      }
    ))
  })

  it("the schema refuses values that are not lease settings at all", () => {
    const decode = Schema.decodeUnknownOption(LeaseConfig)
    assert.isTrue(decode({ ttlMillis: 6000, renewEveryMillis: 1500, safetyMarginMillis: 1000 })._tag === "Some")
    for (
      const bad of [
        { ttlMillis: 999, renewEveryMillis: 100, safetyMarginMillis: 0 },
        { ttlMillis: 6000, renewEveryMillis: 0, safetyMarginMillis: 0 },
        { ttlMillis: 6000, renewEveryMillis: 1500, safetyMarginMillis: -1 },
        { ttlMillis: 6000.5, renewEveryMillis: 1500, safetyMarginMillis: 1000 },
        { ttlMillis: 6000, renewEveryMillis: 1500 }
      ]
    ) {
      assert.strictEqual(decode(bad)._tag, "None", JSON.stringify(bad))
    }
  })
})
