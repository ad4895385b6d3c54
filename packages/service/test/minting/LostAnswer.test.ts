// A leader that dies between the upstream's answer and its commit, on the
// in-memory NATS: the next leader must neither replay a carry that call may
// have spent (a rotated refresh token) nor lose the grant silently. And what
// consumers are told while a mint waits: never a moment already past.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Option } from "effect"
import type { LostAnswer } from "../../src/kinds/ProviderKind.ts"
import {
  advance,
  errorOf,
  getToken,
  lockHolder,
  PROVIDER,
  recreateBucket,
  reportUnauthorized,
  request,
  startCluster,
  subjects,
  tokenOf
} from "../support/MemoryCluster.ts"


/** Two replicas; the leader dies (cut off) right after the upstream answered its second call. */
const leaderDiesBeforeCommit = (lostAnswer: LostAnswer) =>
  Effect.gen(function*() {
    const { consumer, first, replicas, upstream } = yield* startCluster(2, { lostAnswer })
    const leaderId = yield* lockHolder(consumer)
    const dying = replicas.find((replica) => replica.id === leaderId)!
    yield* upstream.onCall(dying.connection.disconnect)
    yield* Effect.forkChild(reportUnauthorized(consumer, first))
    yield* advance(6_000)
    assert.notStrictEqual(yield* lockHolder(consumer), leaderId, "a follower took over")
    assert.strictEqual(yield* upstream.calls, 2)
    yield* upstream.onCall(Effect.void)
    return { consumer, upstream, first }
  })

describe("a leader lost between the upstream's answer and the commit", () => {
  it.effect("a rotating carry is not replayed: the breaker trips and names the secret to renew", () =>
    Effect.gen(function*() {
      const { consumer, first, upstream } = yield* leaderDiesBeforeCommit("stop")
      // The new leader adopted the last committed token, and serves it.
      assert.strictEqual(tokenOf(yield* getToken(consumer)).version, first.version)
      const refused = errorOf(yield* reportUnauthorized(consumer, first))
      assert.strictEqual(refused._tag, "CredentialsRejected")
      assert.include(refused.message, "refresh token")
      assert.deepStrictEqual(yield* upstream.carries, [undefined, "carry-1"])
      // An operator's reset starts again from the configuration, not from the carry that may be spent.
      const reset = yield* request(consumer, subjects.mint(PROVIDER), { reason: "operator" })
      assert.isAbove(tokenOf(reset).version, first.version)
      assert.deepStrictEqual(yield* upstream.carries, [undefined, "carry-1", undefined])
    }))

  it.effect("a kind that can log in again does so instead of using the carry", () =>
    Effect.gen(function*() {
      const { consumer, first, upstream } = yield* leaderDiesBeforeCommit("log-in-again")
      const next = tokenOf(yield* reportUnauthorized(consumer, first))
      assert.isAbove(next.version, first.version)
      assert.deepStrictEqual(yield* upstream.carries, [undefined, "carry-1", undefined])
      // The login's carry is used from then on (past the breaker's "refused at once" window).
      yield* advance(6_000)
      const after = tokenOf(yield* reportUnauthorized(consumer, next))
      assert.isAbove(after.version, next.version)
      assert.deepStrictEqual(yield* upstream.carries, [undefined, "carry-1", undefined, "carry-3"])
    }))

  it.effect("a call that got an answer, or never left, spent nothing: the carry is used again", () =>
    Effect.gen(function*() {
      const { consumer, first, upstream } = yield* startCluster(1, { lostAnswer: "stop" })
      yield* upstream.answerNext("transient")
      const retried = yield* Effect.forkChild(reportUnauthorized(consumer, first))
      yield* advance(2_000)
      const next = tokenOf(yield* Fiber.join(retried))
      assert.isAbove(next.version, first.version)
      // The 503 was an answer, so its carry was not spent and is used again.
      assert.deepStrictEqual(yield* upstream.carries, [undefined, "carry-1", "carry-1"])
    }))

  it.effect("a call that timed out may have spent the carry: the next mint does not replay it", () =>
    Effect.gen(function*() {
      const { consumer, first, upstream } = yield* startCluster(1, { lostAnswer: "stop" })
      yield* upstream.answerNext("timeout")
      const report = yield* Effect.forkChild(reportUnauthorized(consumer, first))
      yield* advance(3_000)
      assert.strictEqual(errorOf(yield* Fiber.join(report))._tag, "CredentialsRejected")
      assert.deepStrictEqual(yield* upstream.carries, [undefined, "carry-1"])
    }))
})

describe("renewalExpectedAt", () => {
  it.effect("is never in the past, and after a 429 is when the leader will really call", () =>
    Effect.gen(function*() {
      const { consumer, first, upstream } = yield* startCluster(1, { rateLimit: { tokens: 1, windowMillis: 10_000 } })
      const waiting = yield* reportUnauthorized(consumer, first)
      const expected = waiting.ok ? waiting.renewalExpectedAt : undefined
      assert.isDefined(expected)
      assert.isAtLeast(expected!, yield* Clock.currentTimeMillis)
      yield* upstream.answerNext({ kind: "rate-limited", retryAfterMillis: 20_000 })
      yield* advance(expected! - (yield* Clock.currentTimeMillis) + 1_000, 100)
      assert.strictEqual(yield* upstream.calls, 2, "the waiting mint called, and got a 429")
      const now = yield* Clock.currentTimeMillis
      const later = yield* reportUnauthorized(consumer, first)
      const promised = later.ok ? later.renewalExpectedAt : undefined
      assert.isDefined(promised)
      assert.isAtLeast(promised!, now + 18_000)
      yield* advance(promised! - now + 500, 100)
      assert.strictEqual(yield* upstream.calls, 3)
      assert.isAbove(tokenOf(yield* getToken(consumer)).version, first.version)
    }))

  it.effect("a commit that meets a bucket without a stream keeps trying, and the minted token is not lost", () =>
    Effect.gen(function*() {
      const { consumer, first, nats, upstream } = yield* startCluster(1, { lostAnswer: "stop" })
      const store = Option.getOrThrow(yield* nats.bucketStore(subjects.tokenBucket))
      // The stream goes away while the upstream answers: the commit meets KvError, then an empty bucket.
      yield* upstream.onCall(store.destroy)
      const report = yield* Effect.forkChild(reportUnauthorized(consumer, first))
      yield* advance(1_000)
      yield* store.recreate
      yield* advance(1_000)
      const next = tokenOf(yield* Fiber.join(report))
      assert.isAbove(next.version, first.version)
      assert.strictEqual(yield* upstream.calls, 2)
      // The rotated carry was committed: the next mint uses it, not the spent one.
      yield* upstream.onCall(Effect.void)
      yield* advance(6_000)
      const after = tokenOf(yield* reportUnauthorized(consumer, next))
      assert.isAbove(after.version, next.version)
      assert.deepStrictEqual(yield* upstream.carries, [undefined, "carry-1", "carry-2"])
    }))

  it.effect("state lost with its bucket: the next leader adopts the held token and never replays the configured carry", () =>
    Effect.gen(function*() {
      const { consumer, first, nats, replicas, upstream } = yield* startCluster(2, { lostAnswer: "stop" })
      const next = tokenOf(yield* reportUnauthorized(consumer, first))
      const leaderId = yield* lockHolder(consumer)
      yield* recreateBucket(nats, subjects.tokenBucket)
      yield* replicas.find((replica) => replica.id === leaderId)!.stop
      yield* advance(6_000)
      assert.strictEqual(tokenOf(yield* getToken(consumer)).version, next.version)
      const refused = errorOf(yield* reportUnauthorized(consumer, next))
      assert.strictEqual(refused._tag, "CredentialsRejected")
      assert.include(refused.message, "state in KV was lost")
      // Only the first two calls: the configured carry was spent by the first, and is never sent again.
      assert.deepStrictEqual(yield* upstream.carries, [undefined, "carry-1"])
    }))
})
