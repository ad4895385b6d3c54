// The versions TokenStore gives new tokens, on an in-memory KV under
// TestClock: above the token they replace, above the wall clock in
// microseconds, and above what the replica's cache has seen, so they keep
// growing when the tokens bucket is deleted and created again (revisions
// start over at 1 there). States written when a version was the write's
// revision still read, with that revision as their token's version.
import { assert, describe, it } from "@effect/vitest"
import { makeMemoryKvStore } from "@tokenbus/nats/testing"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { testKey, testStorage } from "../support/StorageKeys.ts"

const provider = "acme"
const token = (name: string) => ({
  accessToken: Redacted.make(name),
  tokenType: "Bearer",
  issuedAt: 0,
  reason: "initial" as const
})

/** 2025-06-15, in epoch milliseconds. */
const june2025 = 1_750_000_000_000

describe("TokenStore versions", () => {
  it.effect("a new token's version is above the one it replaces and at least the time in microseconds", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(june2025)
      const store = TokenStore.make(yield* (yield* makeMemoryKvStore("tokens")).view, { storage: testStorage })
      const first = yield* store.write(provider, { token: token("first") }, undefined)
      assert.isAtLeast(first.token!.version, june2025 * 1000)
      // Kept through writes that keep the token.
      const kept = yield* store.write(provider, first.state, first.revision)
      assert.strictEqual(kept.token!.version, first.token!.version)
      // Within the same millisecond, the next one is still above.
      const second = yield* store.write(provider, { ...kept.state, token: token("second") }, kept.revision)
      assert.strictEqual(second.token!.version, first.token!.version + 1)
      assert.isTrue(Number.isSafeInteger(second.token!.version))
    }))

  it.effect("after the bucket is deleted and created again, a new token outranks what the replica has seen", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(june2025)
      const kv = yield* makeMemoryKvStore("tokens")
      const first = TokenStore.make(yield* kv.view, { storage: testStorage })
      const before = yield* first.write(provider, { token: token("before") }, undefined)
      const held = before.token!.version
      yield* kv.recreate
      // A new leader's store, with nothing read yet, and the clock a minute behind the one that minted `held`.
      yield* TestClock.setTime(june2025 - 60_000)
      const seenByReplica = TokenStore.make(yield* kv.view, { storage: testStorage, seen: () => held })
      const after = yield* seenByReplica.write(provider, { token: token("after") }, undefined)
      assert.strictEqual(after.revision, 1)
      assert.isAbove(after.token!.version, held)
      // What the cache is for: without it, the clock alone would have been a minute short.
      yield* kv.recreate
      const blindStore = TokenStore.make(yield* kv.view, { storage: testStorage })
      const blind = yield* blindStore.write(provider, { token: token("blind") }, undefined)
      assert.isBelow(blind.token!.version, held)
    }))

  it.effect("a state written when versions were revisions reads with that revision, and the next token is above", () =>
    Effect.gen(function*() {
      const bucket = yield* (yield* makeMemoryKvStore("tokens")).view
      yield* bucket.create("unrelated", "{}")
      yield* bucket.create("unrelated-2", "{}")
      const legacy = JSON.stringify({
        token: { accessToken: "old", tokenType: "Bearer", issuedAt: 0, reason: "initial" },
        fence: { holder: "replica-1", term: 2 }
      })
      const revision = yield* bucket.create(provider, legacy)
      // Written before sealing too, so in clear: read as while turning sealing on.
      const key = testKey("test-1")
      const storage = { sealing: "sealed", ring: { write: key, keys: [key] }, readClear: true } as const
      const store = TokenStore.make(bucket, { storage })
      const read = yield* store.read(provider)
      assert.strictEqual(read.token?.version, revision)
      const next = yield* store.write(provider, { ...read.state, token: token("new") }, read.revision)
      assert.isAbove(next.token!.version, revision)
    }))
})
