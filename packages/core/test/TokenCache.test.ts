// Updates reach a cache late, twice and out of order (broadcast, replies, KV
// reads race each other); whatever the order, the cache must end up holding
// the newest token of each provider and never step back.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Redacted, Schema } from "effect"
import { TokenUpdateJson } from "../src/Messages.ts"
import { Token } from "../src/Token.ts"
import { TokenCache } from "../src/TokenCache.ts"

const token = (provider: string, version: number, accessToken = `${provider}-${version}`) =>
  new Token({
    provider,
    version,
    accessToken: Redacted.make(accessToken),
    tokenType: "Bearer",
    issuedAt: 0,
    reason: "unauthorized-report"
  })

describe("TokenCache", () => {
  it("starts empty", () => {
    const cache = new TokenCache()
    assert.strictEqual(cache.size, 0)
    assert.isUndefined(cache.get("project44"))
  })

  it("keeps only strictly newer tokens", () => {
    const cache = new TokenCache()
    const v2 = token("project44", 2)
    assert.isTrue(cache.offer(v2))
    assert.strictEqual(cache.get("project44"), v2)

    // The same version again (a broadcast and a reply for one commit) is not kept.
    assert.isFalse(cache.offer(token("project44", 2, "duplicate")))
    assert.strictEqual(cache.get("project44"), v2)

    const v5 = token("project44", 5)
    assert.isTrue(cache.offer(v5))
    assert.strictEqual(cache.get("project44"), v5)
  })

  it("ignores an older token that arrives late", () => {
    const cache = new TokenCache()
    const v7 = token("project44", 7)
    cache.offer(v7)
    assert.isFalse(cache.offer(token("project44", 6)))
    assert.isFalse(cache.offer(token("project44", 1)))
    assert.strictEqual(cache.get("project44"), v7)
    assert.strictEqual(cache.size, 1)
  })

  it("keeps providers independent", () => {
    const cache = new TokenCache()
    const eu = token("project44-eu", 10)
    const us = token("project44-us", 3)
    assert.isTrue(cache.offer(eu))
    // A lower version of another provider is not "older": versions only compare within a provider.
    assert.isTrue(cache.offer(us))
    assert.strictEqual(cache.get("project44-eu"), eu)
    assert.strictEqual(cache.get("project44-us"), us)
    assert.strictEqual(cache.size, 2)

    const us4 = token("project44-us", 4)
    assert.isTrue(cache.offer(us4))
    assert.strictEqual(cache.get("project44-eu"), eu)
    assert.strictEqual(cache.get("project44-us"), us4)
  })

  it("after any sequence of offers holds, per provider, the first token offered at the highest version", () => {
    const offer = fc.record({
      provider: fc.constantFrom("a", "b", "c"),
      version: fc.integer({ min: 1, max: 20 }),
      id: fc.nat()
    })
    fc.assert(fc.property(fc.array(offer, { maxLength: 60 }), (offers) => {
      const cache = new TokenCache()
      const model = new Map<string, Token>()
      for (const { provider, version, id } of offers) {
        const candidate = token(provider, version, `t${id}`)
        const held = model.get(provider)
        const expectKept = held === undefined || version > held.version
        assert.strictEqual(cache.offer(candidate), expectKept)
        if (expectKept) model.set(provider, candidate)
        // Never steps back, at any point.
        assert.strictEqual(cache.get(provider), model.get(provider))
      }
      assert.strictEqual(cache.size, model.size)
      for (const [provider, held] of model) assert.strictEqual(cache.get(provider), held)
    }))
  })

  it("ends in the same state whatever order the same versions arrive in", () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 20 }).chain((versions) =>
        fc.tuple(fc.constant(versions), fc.shuffledSubarray(versions, { minLength: versions.length }))
      ),
      ([inOrder, shuffled]) => {
        const sorted = new TokenCache()
        const scrambled = new TokenCache()
        for (const v of [...inOrder].sort((x, y) => x - y)) sorted.offer(token("p", v))
        for (const v of shuffled) scrambled.offer(token("p", v))
        assert.strictEqual(scrambled.get("p")?.version, Math.max(...inOrder))
        assert.strictEqual(sorted.get("p")?.version, scrambled.get("p")?.version)
      }
    ))
  })

  it("offerUpdate keeps the token of a broadcast update, and drops one it cannot read", () => {
    const cache = new TokenCache()
    const update = (version: number) => Schema.encodeSync(TokenUpdateJson)({ v: 1, token: token("project44", version) })
    assert.strictEqual(cache.offerUpdate("project44", update(3)), "kept")
    assert.strictEqual(cache.offerUpdate("project44", update(2)), "stale")
    assert.strictEqual(cache.offerUpdate("project44", "{not json"), "unreadable")
    const partial = JSON.stringify({ v: 1, token: { provider: "project44" } })
    assert.strictEqual(cache.offerUpdate("project44", partial), "unreadable")
    assert.strictEqual(cache.get("project44")?.version, 3)
    assert.strictEqual(Redacted.value(cache.get("project44")?.accessToken ?? Redacted.make("")), "project44-3")
  })
})
