// Token versions are KV revisions, so "newer" must be a plain, strict
// comparison of versions: equal versions are the same token, never an update.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Redacted } from "effect"
import { isNewer, Token } from "../src/Token.ts"

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
