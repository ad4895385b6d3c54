// Three real replicas on the in-memory NATS while an operator deletes and
// recreates the tokens bucket, then the leases bucket: the revisions of each
// start over at 1. A consumer holding a token must still take every new one
// (versions only grow), every replica must serve it, and after the leases
// bucket is gone a new leader must be elected and stay (terms only grow).
import { assert, describe, it } from "@effect/vitest"
import { type Token, TokenCache } from "@tokenbus/core"
import { Effect } from "effect"
import {
  advance,
  configFor,
  getToken,
  lockHolder,
  makeMemoryNats,
  makeUpstream,
  PROVIDER,
  providerFor,
  recreateBucket,
  reportUnauthorized,
  startReplica,
  subjects
} from "../support/MemoryCluster.ts"

const tokenOf = (reply: { readonly ok: boolean }): Token => {
  if (!reply.ok) assert.fail(`expected a token, got ${JSON.stringify(reply)}`)
  return (reply as unknown as { readonly token: Token }).token
}

describe("replicas, when a bucket is deleted and created again", () => {
  it.effect("consumers take every new token, every replica serves it, and a new leader stays", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const upstream = yield* makeUpstream
      const config = configFor(providerFor(upstream))
      const replicas = []
      for (const id of ["replica-1", "replica-2", "replica-3"]) replicas.push(yield* startReplica(nats, config, id))
      const consumer = yield* nats.connection("consumer")
      // What a client holds: the newest token of every broadcast, as TokenClient keeps it.
      const held = new TokenCache()
      yield* consumer.subscribe(subjects.updates(PROVIDER), {}, (message) =>
        void held.offerUpdate(PROVIDER, message.string()))
      yield* advance(1_500)
      const first = tokenOf(yield* getToken(consumer))
      held.offer(first)

      /** Every replica answers `get` with the consumer's token (gets go to one replica at random). */
      const everyReplicaServes = (token: Token) =>
        Effect.gen(function*() {
          for (let i = 0; i < 12; i++) assert.strictEqual(tokenOf(yield* getToken(consumer)).version, token.version)
        })

      // The tokens bucket goes while the leader runs: its next write finds it empty.
      yield* recreateBucket(nats, subjects.tokenBucket)
      yield* advance(1_000)
      const second = tokenOf(yield* reportUnauthorized(consumer, first))
      yield* advance(100)
      assert.isAbove(second.version, first.version)
      assert.strictEqual(held.get(PROVIDER)?.version, second.version, "the consumer ignored the new token")
      yield* everyReplicaServes(second)

      // Gone again, and the leader stops: the next one finds no state at all, and adopts the token its replica
      // holds instead of minting (LostState.ts in core).
      const leaderId = yield* lockHolder(consumer)
      yield* recreateBucket(nats, subjects.tokenBucket)
      yield* replicas.find((replica) => replica.id === leaderId)!.stop
      yield* advance(2_000)
      const third = held.get(PROVIDER)
      assert.isDefined(third)
      assert.strictEqual(third.version, second.version, "the new leader adopted the held token")
      assert.strictEqual(yield* upstream.calls, 2)
      yield* everyReplicaServes(third)

      // The leases bucket goes: a new leader is elected, and stays.
      yield* recreateBucket(nats, subjects.leaseBucket)
      yield* advance(5_000)
      const next = yield* lockHolder(consumer)
      assert.isDefined(next)
      for (let second = 0; second < 30; second++) {
        yield* advance(1_000)
        assert.strictEqual(yield* lockHolder(consumer), next, "leadership kept changing hands")
      }
      // The adopting leader assumed the lost budget was spent just now: the next mint waits out one window.
      const waiting = yield* reportUnauthorized(consumer, third)
      assert.isTrue(waiting.ok && waiting.renewalExpectedAt !== undefined, "the mint waits for the budget")
      yield* advance(60_000, 500)
      const fourth = held.get(PROVIDER)!
      assert.isAbove(fourth.version, third.version)
      yield* everyReplicaServes(fourth)
      assert.strictEqual(yield* upstream.calls, 3)
    }))
})
