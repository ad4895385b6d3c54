// A version is the leader's clock in microseconds at most, so one far ahead
// of a cache's clock is a forgery (or a clock badly wrong) and must never be
// adopted: a version of 2^53 - 1 would otherwise stay newest forever. Every
// version the real leader gives while its clock is within the skew must
// pass, or caches would refuse real tokens.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { isPlausibleVersion, nextVersion, versionSkewMillis } from "../src/Token.ts"

const now = 1_795_458_490_414
const day = 24 * 60 * 60 * 1000

describe("isPlausibleVersion", () => {
  it("allows a day ahead of the clock, in microseconds, and nothing beyond", () => {
    assert.strictEqual(versionSkewMillis, day)
    assert.isTrue(isPlausibleVersion(now * 1000, now))
    assert.isTrue(isPlausibleVersion((now + day) * 1000, now))
    assert.isFalse(isPlausibleVersion((now + day) * 1000 + 1, now))
    assert.isFalse(isPlausibleVersion(Number.MAX_SAFE_INTEGER, now))
  })

  it("allows the small versions KV revisions were, and any clock reading's own version", () => {
    assert.isTrue(isPlausibleVersion(1, now))
    assert.isTrue(isPlausibleVersion(1, 0))
    assert.isFalse(isPlausibleVersion(day * 1000 + 1, 0))
  })

  it("takes the skew it is given", () => {
    assert.isTrue(isPlausibleVersion((now + 1000) * 1000, now, 1000))
    assert.isFalse(isPlausibleVersion((now + 1001) * 1000, now, 1000))
  })

  it("passes every version a leader gives while its clock is less than the skew ahead of the cache's", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 4_000_000_000_000 }),
      fc.integer({ min: -day + 1, max: day - 1 }),
      fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 5 }),
      (cacheNow, leaderAhead, previousOffsets) => {
        const leaderNow = Math.max(0, cacheNow + leaderAhead)
        // Versions the leader follows: its earlier ones, at most its clock.
        const previous = previousOffsets.map((offset) => Math.max(1, leaderNow * 1000 - offset))
        assert.isTrue(isPlausibleVersion(nextVersion(previous, leaderNow), cacheNow))
      }
    ))
  })

  it("refuses a version from a leader clock more than a day ahead", () => {
    assert.isFalse(isPlausibleVersion(nextVersion([], now + day + 1), now))
  })
})
