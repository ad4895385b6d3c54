// What comes over the bus may be forged: a cache (a replica's or a
// client's) must keep holding the real token whatever is published on an
// updates subject: a token of another provider than the subject's, a version
// far ahead of its clock (signed or not), and, once it has the cluster's
// public key, a token signed by anyone else or not at all. Tokens from the
// replica's own sources skip the signature, never the clock.
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { TokenUpdateJson } from "../src/Messages.ts"
import type { Token } from "../src/Token.ts"
import { TokenCache } from "../src/TokenCache.ts"
import { generateSigningKeyPair, type SigningKey, signingKeyFromPem, signToken } from "../src/TokenSignature.ts"
import { now, tokenOf } from "./support/HostileUpdates.ts"

const clock = () => now
const day = 24 * 60 * 60 * 1000

const token = (version: number, provider = "project44") => tokenOf(provider, version)

const newKey = (): SigningKey => Result.getOrThrow(signingKeyFromPem(generateSigningKeyPair().privateKeyPem))
const cluster = newKey()
const forger = newKey()

const update = (held: Token, signature?: string) =>
  Schema.encodeSync(TokenUpdateJson)({ v: 1, token: held, ...(signature === undefined ? {} : { signature }) })

const real = token(now * 1000)

describe("a cache given the cluster's key", () => {
  const verifying = () => {
    const cache = new TokenCache({ verifyKeys: [cluster.verifyKey], now: clock })
    assert.strictEqual(cache.offerUpdate("project44", update(real, signToken(cluster, real))), "kept")
    return cache
  }

  it("keeps an update the cluster signed", () => {
    const cache = verifying()
    const next = token(real.version + 1)
    assert.strictEqual(cache.offerUpdate("project44", update(next, signToken(cluster, next))), "kept")
    assert.strictEqual(cache.get("project44")?.version, next.version)
  })

  it("drops an update signed by another key, or not signed, and keeps the real token", () => {
    const cache = verifying()
    const forged = token(real.version + 1)
    assert.strictEqual(cache.offerUpdate("project44", update(forged, signToken(forger, forged))), "bad-signature")
    assert.strictEqual(cache.offerUpdate("project44", update(forged)), "unsigned")
    // The cluster's signature of another token does not carry over.
    assert.strictEqual(cache.offerUpdate("project44", update(forged, signToken(cluster, real))), "bad-signature")
    assert.strictEqual(cache.get("project44")?.version, real.version)
  })

  it("drops a version far ahead of its clock even when the cluster signed it", () => {
    const cache = verifying()
    for (const version of [Number.MAX_SAFE_INTEGER, (now + day) * 1000 + 1]) {
      const ahead = token(version)
      const offered = cache.offerUpdate("project44", update(ahead, signToken(cluster, ahead)))
      assert.strictEqual(offered, "implausible-version")
    }
    assert.strictEqual(cache.get("project44")?.version, real.version)
  })

  it("drops a token of another provider than the subject's, signed or not", () => {
    const cache = verifying()
    const other = token(real.version + 1, "globex")
    assert.strictEqual(cache.offerUpdate("project44", update(other, signToken(cluster, other))), "wrong-provider")
    assert.strictEqual(cache.get("project44")?.version, real.version)
    assert.isUndefined(cache.get("globex"))
  })

  it("offerSigned checks a reply's token the same way", () => {
    const cache = verifying()
    const next = token(real.version + 1)
    assert.strictEqual(cache.offerSigned("project44", next, undefined), "unsigned")
    assert.strictEqual(cache.offerSigned("globex", next, signToken(cluster, next)), "wrong-provider")
    assert.strictEqual(cache.offerSigned("project44", real, signToken(cluster, real)), "stale")
    assert.strictEqual(cache.offerSigned("project44", next, signToken(cluster, next)), "kept")
  })
})

describe("a cache given no key", () => {
  it("keeps unsigned updates, but still checks the provider and the clock", () => {
    const cache = new TokenCache({ now: clock })
    assert.isFalse(cache.verifies)
    assert.strictEqual(cache.offerUpdate("project44", update(real)), "kept")
    assert.strictEqual(cache.offerUpdate("project44", update(token(Number.MAX_SAFE_INTEGER))), "implausible-version")
    assert.strictEqual(cache.offerUpdate("project44", update(token(real.version + 1, "globex"))), "wrong-provider")
    assert.strictEqual(cache.get("project44")?.version, real.version)
    assert.strictEqual(cache.size, 1)
  })
})

describe("offer (the replica's own sources)", () => {
  it("needs no signature but refuses a version far ahead of the clock", () => {
    const cache = new TokenCache({ verifyKeys: [cluster.verifyKey], now: clock })
    assert.isTrue(cache.offer(real))
    assert.isFalse(cache.offer(token(Number.MAX_SAFE_INTEGER)))
    assert.strictEqual(cache.get("project44")?.version, real.version)
  })

  it("judges versions by the clock it was given, as it reads now", () => {
    let time = 0
    const cache = new TokenCache({ now: () => time })
    const later = token((10 * day) * 1000)
    assert.isFalse(cache.offer(later))
    time = 9 * day
    assert.isTrue(cache.offer(later))
  })
})
