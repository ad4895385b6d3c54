// A leader may act only until `validUntil` of its last successful acquire or
// renewal, and must stop before the server may let the lock lapse (`sentAt +
// ttl`). These tests check what the lease timing promises (room for two
// renewals, a deadline strictly before the server's expiry, counting from the
// send time) and which configurations are refused, for any configuration.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Clock, Effect, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import {
  defaultLeaseConfig,
  type Lease,
  LeaseConfig,
  leaseConfigProblem,
  renewDueAt,
  validUntil
} from "../src/Lease.ts"

/** Any configuration the schema lets through, safe or not. */
const anyConfig: fc.Arbitrary<LeaseConfig> = fc.record({
  ttlMillis: fc.integer({ min: 1000, max: 120_000 }),
  renewEveryMillis: fc.integer({ min: 1, max: 120_000 }),
  safetyMarginMillis: fc.integer({ min: 0, max: 120_000 })
})
const anyLease: fc.Arbitrary<Lease> = fc.record({
  revision: fc.integer({ min: 1, max: 2 ** 40 }),
  sentAt: fc.integer({ min: 0, max: 2 ** 42 })
})

describe("the default lease", () => {
  it("is accepted, and lets the leader act for 1 s of its 1.5 s lease, renewing every 300 ms", () => {
    assert.isUndefined(leaseConfigProblem(defaultLeaseConfig))
    const lease: Lease = { revision: 7, sentAt: 1_700_000_000_000 }
    assert.strictEqual(validUntil(defaultLeaseConfig, lease), 1_700_000_001_000)
    assert.strictEqual(renewDueAt(defaultLeaseConfig, lease), 1_700_000_000_300)
  })

  it.effect("a leader whose event loop stalls for 500 ms when its renewal is due still renews inside its lease", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(42_000)
      const lease: Lease = { revision: 1, sentAt: yield* Clock.currentTimeMillis }
      const sleeper = yield* Effect.sleep(renewDueAt(defaultLeaseConfig, lease) - lease.sentAt).pipe(
        Effect.andThen(Clock.currentTimeMillis),
        Effect.forkChild
      )
      yield* TestClock.adjust(299)
      assert.isUndefined(sleeper.pollUnsafe(), "woke before the renewal was due")
      yield* TestClock.adjust(10_000)
      const woke = yield* Fiber.join(sleeper)
      assert.strictEqual(woke, 42_300)
      // Stalled for 500 ms, the renewal still goes out before the lease's deadline.
      assert.isBelow(woke + 500, validUntil(defaultLeaseConfig, lease))
      // The lock the server holds outlives the leader's own deadline.
      assert.isBelow(validUntil(defaultLeaseConfig, lease), lease.sentAt + defaultLeaseConfig.ttlMillis)
    }))
})

describe("validUntil and renewDueAt", () => {
  it("a leader stops strictly before the server's expiry whenever the margin is positive", () => {
    fc.assert(fc.property(anyConfig, anyLease, (config, lease) => {
      const serverExpiry = lease.sentAt + config.ttlMillis
      if (config.safetyMarginMillis > 0) assert.isBelow(validUntil(config, lease), serverExpiry)
      else assert.isAtMost(validUntil(config, lease), serverExpiry)
    }))
  })

  it("a wider margin moves the deadline earlier, a longer lock moves it later", () => {
    fc.assert(fc.property(anyConfig, anyLease, fc.integer({ min: 1, max: 10_000 }), (config, lease, more) => {
      const wider = { ...config, safetyMarginMillis: config.safetyMarginMillis + more }
      const longer = { ...config, ttlMillis: config.ttlMillis + more }
      assert.isBelow(validUntil(wider, lease), validUntil(config, lease))
      assert.isAbove(validUntil(longer, lease), validUntil(config, lease))
      assert.strictEqual(renewDueAt(wider, lease), renewDueAt(config, lease))
    }))
  })

  it("count from the send time: a later send moves both by the same amount, and the revision plays no part", () => {
    fc.assert(fc.property(anyConfig, anyLease, fc.nat(2 ** 30), anyLease, (config, lease, later, other) => {
      const renewed: Lease = { revision: other.revision, sentAt: lease.sentAt + later }
      assert.strictEqual(validUntil(config, renewed) - validUntil(config, lease), later)
      assert.strictEqual(renewDueAt(config, renewed) - renewDueAt(config, lease), later)
    }))
  })

  it("a renewal is due after the send, and before the deadline whenever the configuration is accepted", () => {
    fc.assert(fc.property(anyConfig, anyLease, (config, lease) => {
      assert.isAbove(renewDueAt(config, lease), lease.sentAt)
      if (leaseConfigProblem(config) === undefined) assert.isBelow(renewDueAt(config, lease), validUntil(config, lease))
    }))
  })
})

describe("leaseConfigProblem", () => {
  it("an accepted configuration always leaves room for two renewals before validUntil", () => {
    fc.assert(fc.property(anyConfig, anyLease, (config, lease) => {
      if (leaseConfigProblem(config) !== undefined) return
      const secondRenewal = renewDueAt(config, lease) + config.renewEveryMillis
      assert.isAtMost(secondRenewal, validUntil(config, lease))
    }))
  })

  it("a configuration without room for two renewals is refused, naming renewEveryMillis", () => {
    fc.assert(fc.property(anyConfig, anyLease, (config, lease) => {
      const secondRenewal = renewDueAt(config, lease) + config.renewEveryMillis
      if (secondRenewal <= validUntil(config, lease)) return
      const problem = leaseConfigProblem(config)
      assert.isDefined(problem)
      if (config.safetyMarginMillis < config.ttlMillis) assert.include(problem, "renewEveryMillis")
    }))
  })

  it("a margin as long as the lock or longer is refused, naming safetyMarginMillis", () => {
    fc.assert(fc.property(anyConfig, fc.nat(60_000), (config, over) => {
      const problem = leaseConfigProblem({ ...config, safetyMarginMillis: config.ttlMillis + over })
      assert.isDefined(problem)
      assert.include(problem, "safetyMarginMillis")
    }))
  })

  it("accepts and refuses at the exact edge: two renewals that just fit, and one millisecond more", () => {
    // ttl - margin = 5000: two renewals of 2500 fit, two of 2501 do not.
    assert.isUndefined(leaseConfigProblem({ ttlMillis: 6000, renewEveryMillis: 2500, safetyMarginMillis: 1000 }))
    assert.include(
      leaseConfigProblem({ ttlMillis: 6000, renewEveryMillis: 2501, safetyMarginMillis: 1000 }),
      "renewEveryMillis"
    )
    assert.isUndefined(leaseConfigProblem({ ttlMillis: 6000, renewEveryMillis: 3000, safetyMarginMillis: 0 }))
    assert.include(leaseConfigProblem({ ttlMillis: 6000, renewEveryMillis: 1, safetyMarginMillis: 6000 }), "safety")
  })

  it("the schema refuses values that are not lease settings at all", () => {
    const decode = Schema.decodeUnknownOption(LeaseConfig)
    assert.strictEqual(decode({ ttlMillis: 6000, renewEveryMillis: 1500, safetyMarginMillis: 1000 })._tag, "Some")
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
