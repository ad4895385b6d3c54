// A replica that holds no token reads KV, but a stored token whose version is
// far ahead of the replica's clock is one its cache refuses
// (isPlausibleVersion): it must not be served either, or it would reach
// consumers through the KV path after being refused everywhere else. The
// replica asks the leader instead, whose own token it serves. Real replicas
// on the in-memory NATS, under TestClock; the stored state is altered as
// someone who may write the tokens bucket would.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import {
  advance,
  configFor,
  getToken,
  makeMemoryNats,
  makeUpstream,
  PROVIDER,
  providerFor,
  subjects,
  tokenOf
} from "../support/MemoryCluster.ts"
import { startReplicaParts } from "../support/ReplicaParts.ts"

describe("a replica reading KV", () => {
  it.effect("does not serve a stored token whose version is far ahead of its clock, and asks the leader", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const upstream = yield* makeUpstream
      const config = configFor(providerFor(upstream))
      yield* startReplicaParts(nats, config, "replica-1")
      const consumer = yield* nats.connection("consumer")
      yield* advance(1_500)
      const real = tokenOf(yield* getToken(consumer))

      // The stored token's version becomes 2^53 - 1, behind the leader's back.
      const tokens = yield* consumer.bucket(subjects.tokenBucket, {})
      const entry = Option.getOrThrow(yield* tokens.get(PROVIDER))
      const state = JSON.parse(entry.value)
      const forged = { ...state, token: { ...state.token, version: Number.MAX_SAFE_INTEGER } }
      yield* tokens.update(PROVIDER, JSON.stringify(forged), entry.revision)

      // A replica that starts now holds nothing, and reads KV first.
      const newcomer = yield* startReplicaParts(nats, config, "replica-2")
      yield* advance(100)
      assert.isUndefined(newcomer.cache.get(PROVIDER))
      const answer = yield* newcomer.responder.current(PROVIDER)
      assert.strictEqual(answer.token.version, real.version)
      assert.strictEqual(Redacted.value(answer.token.accessToken), Redacted.value(real.accessToken))
      assert.strictEqual(newcomer.cache.get(PROVIDER)?.version, real.version)
      assert.strictEqual(yield* upstream.calls, 1, "nothing was minted")
    }))
})
