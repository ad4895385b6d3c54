// When the leader renews on its own. The clock is TestClock's: a leader that
// plans a renewal and sleeps until it wakes exactly when planned.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Lifecycle, onUnauthorized, plannedLifetime, proactive, renewalDueAt } from "../src/Lifecycle.ts"

const minute = 60_000
const itemPathToken = { issuedAt: 1_000_000, expiresAt: 1_000_000 + 15 * minute }

describe("renewalDueAt", () => {
  it("on-401 never renews", () => {
    assert.isUndefined(renewalDueAt(onUnauthorized, itemPathToken, 0.5))
  })

  it("proactive renews at renewAt of the stated lifetime, jitter centred on it", () => {
    const lifecycle = proactive(0.5)
    assert.strictEqual(renewalDueAt(lifecycle, itemPathToken, 0.5), itemPathToken.issuedAt + 7.5 * minute)
    // random 0 and 1 are the jitter's ends: 0.4 and 0.6 of 15 minutes.
    assert.strictEqual(renewalDueAt(lifecycle, itemPathToken, 0), itemPathToken.issuedAt + 6 * minute)
    assert.strictEqual(renewalDueAt(lifecycle, itemPathToken, 1), itemPathToken.issuedAt + 9 * minute)
  })

  it("a missing, negative or absurd lifetime falls back to the maximum age", () => {
    const maxAge = 12 * 60 * minute
    assert.strictEqual(plannedLifetime(maxAge, { issuedAt: 0 }), maxAge)
    assert.strictEqual(plannedLifetime(maxAge, { issuedAt: 10, expiresAt: 5 }), maxAge)
    assert.strictEqual(plannedLifetime(maxAge, { issuedAt: 0, expiresAt: 10 * maxAge }), maxAge)
    assert.strictEqual(plannedLifetime(maxAge, { issuedAt: 0, expiresAt: 900_000 }), 900_000)
  })

  it("never plans at or past expiry, however large the jitter", () => {
    const lifecycle: Lifecycle = { mode: "proactive", renewAt: 0.9, jitter: 0.5, maxAgeMillis: 12 * 60 * minute }
    for (const random of [0, 0.25, 0.5, 0.75, 0.999]) {
      const due = renewalDueAt(lifecycle, itemPathToken, random) as number
      assert.isBelow(due, itemPathToken.expiresAt)
      assert.isAbove(due, itemPathToken.issuedAt)
    }
  })

  it.effect("a leader sleeping until the planned moment wakes before the token expires", () =>
    Effect.gen(function*() {
      const issuedAt = yield* Clock.currentTimeMillis
      const token = { issuedAt, expiresAt: issuedAt + 15 * minute }
      const due = renewalDueAt(proactive(0.5), token, 0.3) as number
      yield* TestClock.adjust(due - issuedAt)
      const now = yield* Clock.currentTimeMillis
      assert.strictEqual(now, due)
      assert.isBelow(now, token.expiresAt)
    }))
})

describe("Lifecycle schema", () => {
  const decode = Schema.decodeUnknownSync(Lifecycle)

  it("fills in the defaults of proactive renewal", () => {
    assert.deepStrictEqual(decode({ mode: "proactive" }), {
      mode: "proactive",
      renewAt: 0.5,
      jitter: 0.1,
      maxAgeMillis: 12 * 60 * minute
    })
  })

  it("refuses a renewAt outside (0, 1) and an unknown mode", () => {
    assert.throws(() => decode({ mode: "proactive", renewAt: 1 }))
    assert.throws(() => decode({ mode: "proactive", renewAt: 0 }))
    assert.throws(() => decode({ mode: "sometimes" }))
  })
})
