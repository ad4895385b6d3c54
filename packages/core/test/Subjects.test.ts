// Subject names are the protocol (PROTOCOL.md): these pin them down, and
// check that `providerOf` reads the provider back from every per-provider
// subject, for any valid prefix and provider id.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Option, Schema } from "effect"
import { ProviderId } from "../src/ProviderId.ts"
import { defaultPrefix, makeSubjects, Prefix, providerOf } from "../src/Subjects.ts"

/** NATS subject matching for the `*` wildcard, enough to check the `any*` subscriptions. */
const matches = (pattern: string, subject: string): boolean => {
  const want = pattern.split(".")
  const have = subject.split(".")
  return want.length === have.length && want.every((token, i) => token === "*" || token === have[i])
}

const prefixes = fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/)
const providers = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/)

describe("makeSubjects", () => {
  it("names everything under the default prefix", () => {
    const s = makeSubjects()
    assert.strictEqual(s.prefix, defaultPrefix)
    assert.strictEqual(s.get("project44-eu"), "tokenbus.token.project44-eu.get")
    assert.strictEqual(s.unauthorized("project44-eu"), "tokenbus.token.project44-eu.unauthorized")
    assert.strictEqual(s.updates("project44-eu"), "tokenbus.token.project44-eu.updates")
    assert.strictEqual(s.mint("project44-eu"), "tokenbus.leader.project44-eu.mint")
    assert.strictEqual(s.anyGet, "tokenbus.token.*.get")
    assert.strictEqual(s.anyUnauthorized, "tokenbus.token.*.unauthorized")
    assert.strictEqual(s.anyUpdates, "tokenbus.token.*.updates")
    assert.strictEqual(s.leaseBucket, "tokenbus-leases")
    assert.strictEqual(s.tokenBucket, "tokenbus-tokens")
  })

  it("keeps deployments with different prefixes apart", () => {
    const staging = makeSubjects("staging_2")
    assert.strictEqual(staging.get("p44"), "staging_2.token.p44.get")
    assert.strictEqual(staging.leaseBucket, "staging_2-leases")
    assert.isFalse(matches(makeSubjects().anyGet, staging.get("p44")))
  })

  it("wildcard subjects match exactly their own verb for any provider", () => {
    fc.assert(fc.property(prefixes, providers, (prefix, provider) => {
      const s = makeSubjects(prefix)
      assert.isTrue(matches(s.anyGet, s.get(provider)))
      assert.isTrue(matches(s.anyUnauthorized, s.unauthorized(provider)))
      assert.isTrue(matches(s.anyUpdates, s.updates(provider)))
      assert.isFalse(matches(s.anyGet, s.updates(provider)))
      assert.isFalse(matches(s.anyUpdates, s.unauthorized(provider)))
      // Replicas must not answer the leader-only mint subject.
      for (const any of [s.anyGet, s.anyUnauthorized, s.anyUpdates]) assert.isFalse(matches(any, s.mint(provider)))
    }))
  })
})

describe("providerOf", () => {
  it("reads the provider from real subjects", () => {
    const s = makeSubjects()
    assert.strictEqual(providerOf(s.get("project44-eu")), "project44-eu")
    assert.strictEqual(providerOf(s.unauthorized("p_44")), "p_44")
    assert.strictEqual(providerOf(s.updates("0")), "0")
    assert.strictEqual(providerOf(s.mint("project44-us")), "project44-us")
  })

  it("inverts every per-provider subject for any valid prefix and provider", () => {
    fc.assert(fc.property(prefixes, providers, (prefix, provider) => {
      const s = makeSubjects(prefix)
      for (const subject of [s.get, s.unauthorized, s.updates, s.mint]) {
        assert.strictEqual(providerOf(subject(provider)), provider)
      }
    }))
  })

  it("the generated names are valid prefixes and provider ids", () => {
    // Guards the generators above: they must produce what the schemas accept.
    fc.assert(fc.property(prefixes, providers, (prefix, provider) => {
      assert.isTrue(Option.isSome(Schema.decodeUnknownOption(Prefix)(prefix)))
      assert.isTrue(Option.isSome(Schema.decodeUnknownOption(ProviderId)(provider)))
    }))
    for (const bad of ["a.b", "", "x".repeat(33), "a b", "a*"]) {
      assert.isTrue(Option.isNone(Schema.decodeUnknownOption(Prefix)(bad)), bad)
    }
    for (const bad of ["Upper", "-lead", "a.b", "", "x".repeat(65), ">"]) {
      assert.isTrue(Option.isNone(Schema.decodeUnknownOption(ProviderId)(bad)), bad)
    }
  })
})
