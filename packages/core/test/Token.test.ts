// Token versions are KV revisions, so "newer" must be a plain, strict
// comparison of versions: equal versions are the same token, never an update.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Redacted } from "effect"
import { isNewer, newest, Token } from "../src/Token.ts"

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

describe("newest", () => {
  it("picks the higher version whichever side it is on", () => {
    const older = token(4)
    const newer = token(9)
    assert.strictEqual(newest(older, newer), newer)
    assert.strictEqual(newest(newer, older), newer)
  })

  it("keeps the first of two equal versions", () => {
    const first = token(5, "first")
    const second = token(5, "second")
    assert.strictEqual(newest(first, second), first)
  })

  it("returns one of its arguments with the highest version, and agrees with isNewer", () => {
    fc.assert(fc.property(version, version, (va, vb) => {
      const a = token(va)
      const b = token(vb)
      const result = newest(a, b)
      assert.isTrue(result === a || result === b)
      assert.strictEqual(result.version, Math.max(va, vb))
      assert.strictEqual(result, isNewer(b, a) ? b : a)
    }))
  })

  it("folding a list gives its highest version, in any order", () => {
    fc.assert(fc.property(fc.array(version, { minLength: 1, maxLength: 30 }), (versions) => {
      const tokens = versions.map((v) => token(v))
      const [head, ...rest] = tokens
      if (head === undefined) return
      assert.strictEqual(rest.reduce(newest, head).version, Math.max(...versions))
      assert.strictEqual([...rest].reverse().reduce(newest, head).version, Math.max(...versions))
    }))
  })
})
