// "Newer" must be a plain, strict comparison of versions: equal versions are
// the same token, never an update. `nextVersion` gives a new token a version
// above every one it must follow and at least the wall clock in
// microseconds, always a safe integer.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Redacted } from "effect"
import { clockVersionCeiling, isNewer, nextVersion, Token } from "../src/Token.ts"

const token = (version: number, accessToken = `secret-${version}`, provider = "project44-eu") =>
  new Token({
    provider,
    version,
    accessToken: Redacted.make(accessToken),
    tokenType: "Bearer",
    issuedAt: 1_700_000_000_000,
    reason: "initial"
  })

const version = fc.integer({ min: 1, max: 1_000_000 })

describe("isNewer", () => {
  it("anything replaces nothing", () => {
    assert.isTrue(isNewer(token(1), undefined))
  })

  it("compares versions strictly", () => {
    assert.isTrue(isNewer(token(3), token(2)))
    assert.isFalse(isNewer(token(2), token(3)))
    // Same version, even as a different object: not newer.
    assert.isFalse(isNewer(token(2, "a"), token(2, "b")))
  })

  it("is a strict order on versions", () => {
    fc.assert(fc.property(version, version, (a, b) => {
      assert.strictEqual(isNewer(token(a), token(b)), a > b)
      // Irreflexive and asymmetric: two offers can never replace each other.
      assert.isFalse(isNewer(token(a), token(a)))
      assert.isFalse(isNewer(token(a), token(b)) && isNewer(token(b), token(a)))
    }))
  })
})

describe("nextVersion", () => {
  const before = fc.option(fc.integer({ min: 1, max: clockVersionCeiling }), { nil: undefined })
  const now = fc.integer({ min: 0, max: 4_000_000_000_000 })

  it("is above every version it must follow and at least the time in microseconds", () => {
    fc.assert(fc.property(fc.array(before, { maxLength: 3 }), now, (after, nowMillis) => {
      const next = nextVersion(after, nowMillis)
      for (const version of after) if (version !== undefined) assert.isAbove(next, version)
      assert.isAtLeast(next, nowMillis * 1000)
      assert.isAtLeast(next, 1)
      assert.isTrue(Number.isSafeInteger(next))
    }))
  })

  it("is the time in microseconds when that is above everything before, so a later clock outranks it", () => {
    assert.strictEqual(nextVersion([41, undefined], 1_750_000_000_000), 1_750_000_000_000_000)
    assert.strictEqual(nextVersion([1_750_000_000_000_000], 1_750_000_000_000), 1_750_000_000_000_001)
    assert.isAbove(nextVersion([], 1_750_000_000_001), nextVersion([1_750_000_000_000_000], 1_750_000_000_000))
    assert.strictEqual(nextVersion([], 0), 1)
  })

  it("stays a safe integer with a clock past the year 2255, and still grows there", () => {
    const far = 9_999_999_999_999_999
    assert.strictEqual(nextVersion([], far), clockVersionCeiling)
    assert.strictEqual(nextVersion([clockVersionCeiling], far), clockVersionCeiling + 1)
    assert.isTrue(Number.isSafeInteger(nextVersion([clockVersionCeiling + 2 ** 31], far)))
  })
})
