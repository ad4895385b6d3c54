// What a cache does with tokens sealed for the bus, on the real TokenCache:
// a cache given the bus key keeps the token opened (its real access token),
// after checking the cluster's signature over the token in clear; one
// without the key, or with another key under its id, drops it, saying which;
// an envelope moved onto another version's token is dropped; during a
// rotation a cache with both keys keeps what either sealed. And an update in
// a protocol version the cache does not speak is refused, whatever it holds.
import { randomBytes } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Redacted, Result, Schema } from "effect"
import { TokenUpdateJson } from "../src/Messages.ts"
import { type SealingKey, sealingKey } from "../src/Sealing.ts"
import { Token } from "../src/Token.ts"
import { TokenCache } from "../src/TokenCache.ts"
import { generateSigningKeyPair, signingKeyFromPem, signToken } from "../src/TokenSignature.ts"
import { sealToken } from "../src/WireToken.ts"

const keyOf = (id: string): SealingKey => Result.getOrThrow(sealingKey(id, randomBytes(32)))
const cluster = Result.getOrThrow(signingKeyFromPem(generateSigningKeyPair().privateKeyPem))

const tokenOf = (version: number) =>
  new Token({
    provider: "project44",
    version,
    accessToken: Redacted.make(`p44-secret-${version}`),
    tokenType: "Bearer",
    issuedAt: 0,
    reason: "initial"
  })

/** The update a replica sealing with `key` broadcasts: sealed, signed over the token in clear. */
const sealedUpdate = (key: SealingKey, token: Token, v = 1) =>
  Schema.encodeSync(TokenUpdateJson)({
    v,
    token: Result.getOrThrow(sealToken(key, randomBytes(12), token)),
    signature: signToken(cluster, token)
  })

const at = (busKeys: ReadonlyArray<SealingKey>) =>
  new TokenCache({ busKeys, verifyKeys: [cluster.verifyKey], now: () => 1_000 })

const heldSecret = (cache: TokenCache) => {
  const held = cache.get("project44")
  return held === undefined ? undefined : Redacted.value(held.accessToken)
}

describe("TokenCache with sealed tokens", () => {
  it("keeps a sealed update opened, once the signature over the token in clear verifies", () => {
    const key = keyOf("bus-1")
    const cache = at([key])
    assert.strictEqual(cache.offerUpdate("project44", sealedUpdate(key, tokenOf(3))), "kept")
    assert.strictEqual(heldSecret(cache), "p44-secret-3")
    // A seal that opens is not enough: the signature must be the cluster's, of this token.
    const sealedOnly = Schema.encodeSync(TokenUpdateJson)({
      v: 1,
      token: Result.getOrThrow(sealToken(key, randomBytes(12), tokenOf(4))),
      signature: signToken(cluster, tokenOf(5))
    })
    assert.strictEqual(cache.offerUpdate("project44", sealedOnly), "bad-signature")
    assert.strictEqual(heldSecret(cache), "p44-secret-3")
  })

  it("drops a sealed token it holds no key of, or whose key under that id is another", () => {
    const key = keyOf("bus-1")
    assert.strictEqual(at([]).offerUpdate("project44", sealedUpdate(key, tokenOf(3))), "sealed-unknown-key")
    const otherId = at([keyOf("bus-2")])
    assert.strictEqual(otherId.offerUpdate("project44", sealedUpdate(key, tokenOf(3))), "sealed-unknown-key")
    const impostor = at([keyOf("bus-1")])
    assert.strictEqual(impostor.offerUpdate("project44", sealedUpdate(key, tokenOf(3))), "sealed-rejected")
    assert.isUndefined(impostor.get("project44"))
  })

  it("drops an envelope moved onto another version's token", () => {
    const key = keyOf("bus-1")
    const wire = JSON.parse(sealedUpdate(key, tokenOf(3)))
    const moved = JSON.stringify({
      ...wire,
      token: { ...wire.token, version: 4 },
      signature: signToken(cluster, tokenOf(4))
    })
    const cache = at([key])
    assert.strictEqual(cache.offerUpdate("project44", moved), "sealed-rejected")
    assert.isUndefined(cache.get("project44"))
  })

  it("calls a sealed token not newer than the one held stale, key or not: it could replace nothing", () => {
    const key = keyOf("bus-1")
    const cache = new TokenCache({ now: () => 1_000 })
    assert.isTrue(cache.offer(tokenOf(5)))
    assert.strictEqual(cache.offerUpdate("project44", sealedUpdate(key, tokenOf(5))), "stale")
  })

  it("keeps, during a rotation, what the old key and what the new key sealed", () => {
    const old = keyOf("bus-1")
    const next = keyOf("bus-2")
    const cache = at([old, next])
    assert.strictEqual(cache.offerUpdate("project44", sealedUpdate(old, tokenOf(3))), "kept")
    assert.strictEqual(cache.offerUpdate("project44", sealedUpdate(next, tokenOf(4))), "kept")
    assert.strictEqual(heldSecret(cache), "p44-secret-4")
    // Once the old key is dropped, what it sealed no longer opens.
    assert.strictEqual(at([next]).offerUpdate("project44", sealedUpdate(old, tokenOf(5))), "sealed-unknown-key")
  })
})

describe("TokenCache.offerUpdate", () => {
  it("refuses an update in a protocol version it does not speak", () => {
    const cache = new TokenCache({ now: () => 1_000 })
    const update = (v: number) => Schema.encodeSync(TokenUpdateJson)({ v, token: tokenOf(3) })
    assert.strictEqual(cache.offerUpdate("project44", update(2)), "unsupported-version")
    assert.strictEqual(cache.offerUpdate("project44", update(0)), "unsupported-version")
    assert.isUndefined(cache.get("project44"))
    assert.strictEqual(cache.offerUpdate("project44", update(1)), "kept")
  })
})
