// The minting core on the in-memory NATS, under TestClock: election and
// renewal, takeover adopting the stored token, single-flight of 401 reports,
// the breaker, and a report joining a mint that is refused at once. These run
// the real Replica, LeaderLock, ProviderLeader, SingleFlight, MintCycle,
// FencedState, TokenStore, Responder and AskLeader; only the upstream is the test's.
import { assert, describe, it } from "@effect/vitest"
import { take } from "@tokenbus/core"
import { Clock, Effect, Fiber, Redacted, Ref } from "effect"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { testStorage } from "../support/StorageKeys.ts"
import {
  advance,
  configFor,
  getToken,
  lockHolder,
  makeMemoryNats,
  makeUpstream,
  providerFor,
  reportUnauthorized,
  startCluster,
  startReplica,
  subjects,
  request,
  tokenOf,
  PROVIDER
} from "../support/MemoryCluster.ts"

const cluster = (replicas: number) => startCluster(replicas)

describe("ProviderLeader on the in-memory NATS", () => {
  it.effect("elects one leader, which mints once and keeps its lock through renewals", () =>
    Effect.gen(function*() {
      const { consumer, replicas, upstream } = yield* cluster(3)
      const leader = yield* lockHolder(consumer)
      assert.isDefined(leader)
      assert.strictEqual(yield* upstream.calls, 1)
      const first = tokenOf(yield* getToken(consumer))
      assert.strictEqual(first.reason, "initial")
      // Ten lease lengths: the lock changes hands only if a renewal failed.
      yield* advance(30_000, 250)
      assert.strictEqual(yield* lockHolder(consumer), leader)
      assert.strictEqual(yield* upstream.calls, 1)
      for (const _ of replicas) assert.strictEqual(tokenOf(yield* getToken(consumer)).version, first.version)
    }))

  it.effect("a follower takes over a crashed leader and adopts its token without minting", () =>
    Effect.gen(function*() {
      const { consumer, replicas, upstream } = yield* cluster(2)
      const first = tokenOf(yield* getToken(consumer))
      const leaderId = yield* lockHolder(consumer)
      const leader = replicas.find((replica) => replica.id === leaderId)
      assert.isDefined(leader)
      yield* leader!.connection.disconnect
      yield* advance(5_000)
      const next = yield* lockHolder(consumer)
      assert.isDefined(next)
      assert.notStrictEqual(next, leaderId)
      assert.strictEqual(yield* upstream.calls, 1)
      // A 401 on the adopted token is minted by the new leader: it holds the provider's state.
      const renewed = tokenOf(yield* reportUnauthorized(consumer, first))
      assert.isAbove(renewed.version, first.version)
      assert.strictEqual(yield* upstream.calls, 2)
    }))

  it.effect("a follower that kept the token from the bus takes over without publishing it again", () =>
    Effect.gen(function*() {
      const { consumer, first, replicas } = yield* cluster(2)
      const updates: Array<string> = []
      yield* consumer.subscribe(subjects.updates(PROVIDER), {}, (message) => void updates.push(message.string()))
      const leaderId = yield* lockHolder(consumer)
      yield* replicas.find((replica) => replica.id === leaderId)!.connection.disconnect
      yield* advance(5_000)
      assert.notStrictEqual(yield* lockHolder(consumer), leaderId)
      assert.strictEqual(tokenOf(yield* getToken(consumer)).version, first.version)
      assert.deepStrictEqual(updates, [], "every replica and client had kept that token already")
      // What it mints is published as ever.
      const renewed = tokenOf(yield* reportUnauthorized(consumer, first))
      yield* advance(100)
      assert.strictEqual(updates.length, 1)
      assert.include(updates[0]!, String(renewed.version))
    }))

  it.effect("a new leader publishes the stored token when nobody published it (its leader died first)", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const upstream = yield* makeUpstream
      const observer = yield* nats.connection("observer")
      const store = TokenStore.make(yield* observer.bucket(subjects.tokenBucket, {}), { storage: testStorage })
      const token = { accessToken: Redacted.make("committed"), tokenType: "Bearer", issuedAt: 0, reason: "initial" as const }
      const committed = yield* store.write(PROVIDER, { token }, undefined)
      const updates: Array<string> = []
      yield* observer.subscribe(subjects.updates(PROVIDER), {}, (message) => void updates.push(message.string()))
      yield* startReplica(nats, configFor(providerFor(upstream)), "replica-1")
      yield* advance(1_500)
      assert.strictEqual(yield* upstream.calls, 0, "adopted, not minted")
      assert.strictEqual(updates.length, 1)
      assert.include(updates[0]!, String(committed.token?.version))
    }))

  it.effect("many reports of one version cost one upstream call, and all get the same new token", () =>
    Effect.gen(function*() {
      const { consumer, upstream } = yield* cluster(3)
      const first = tokenOf(yield* getToken(consumer))
      const release = yield* upstream.hold
      const reports = yield* Effect.forEach(
        Array.from({ length: 50 }, () => reportUnauthorized(consumer, first)),
        (report) => Effect.forkChild(report)
      )
      yield* advance(200)
      yield* release
      yield* advance(200)
      const replies = yield* Effect.forEach(reports, Fiber.join)
      const versions = new Set(replies.map((reply) => tokenOf(reply).version))
      assert.strictEqual(versions.size, 1)
      assert.isAbove([...versions][0]!, first.version)
      assert.strictEqual(yield* upstream.calls, 2)
    }))

  it.effect("a rejected credential trips the breaker: no more calls until an operator resets it", () =>
    Effect.gen(function*() {
      const { consumer, upstream } = yield* cluster(2)
      const first = tokenOf(yield* getToken(consumer))
      yield* upstream.answerNext("credentials-rejected")
      const refused = yield* reportUnauthorized(consumer, first)
      assert.isFalse(refused.ok)
      assert.strictEqual((refused as { error: { _tag: string } }).error._tag, "CredentialsRejected")
      const calls = yield* upstream.calls
      const again = yield* reportUnauthorized(consumer, first)
      assert.strictEqual((again as { error: { _tag: string } }).error._tag, "CredentialsRejected")
      assert.strictEqual(yield* upstream.calls, calls)
      // The held token is still served meanwhile.
      assert.strictEqual(tokenOf(yield* getToken(consumer)).version, first.version)
      const reset = tokenOf(yield* request(consumer, subjects.mint(PROVIDER), { reason: "operator" }))
      assert.strictEqual(reset.reason, "operator")
      assert.strictEqual(yield* upstream.calls, calls + 1)
    }))

  it.effect("reports of a token minted after a 401 and refused at once trip the breaker, and all are answered", () =>
    Effect.gen(function*() {
      const { consumer, replicas, upstream } = yield* cluster(1)
      const first = tokenOf(yield* getToken(consumer))
      const afterReport = tokenOf(yield* reportUnauthorized(consumer, first))
      assert.strictEqual(afterReport.reason, "unauthorized-report")
      // The token minted because of a 401 is itself refused at once: the breaker trips, and
      // every report that reached the leader meanwhile shares that outcome. (Sent straight to
      // the leader, as replicas do: one replica asks once for all its consumers.)
      const tokens = yield* replicas[0]!.connection.bucket(subjects.tokenBucket, {})
      yield* tokens.delayReplies(100)
      const report = { reason: "unauthorized-report", failedVersion: afterReport.version }
      const reports = yield* Effect.forEach(
        Array.from({ length: 5 }, () => request(consumer, subjects.mint(PROVIDER), report)),
        (sent) => Effect.forkChild(sent)
      )
      yield* advance(1_000)
      for (const fiber of reports) {
        const reply = fiber.pollUnsafe()
        assert.isDefined(reply, "a report was left waiting")
      }
      const replies = yield* Effect.forEach(reports, Fiber.join)
      for (const reply of replies) assert.strictEqual((reply as { error: { _tag: string } }).error?._tag, "CredentialsRejected")
      assert.strictEqual(yield* upstream.calls, 2)
    }))

  it.effect("spends the rate budget in KV before it calls the upstream", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const upstream = yield* makeUpstream
      const rateLimit = { tokens: 1, windowMillis: 60_000 }
      const config = configFor(providerFor(upstream, { rateLimit }))
      const observer = yield* nats.connection("observer")
      const store = TokenStore.make(yield* observer.bucket(subjects.tokenBucket, {}), { storage: testStorage })
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      // At the moment of each call, what would a new leader reading KV be allowed?
      yield* upstream.onCall(Effect.gen(function*() {
        const { state } = yield* store.read(PROVIDER)
        const grant = take(rateLimit, state.budget, yield* Clock.currentTimeMillis)
        yield* Ref.update(seen, (tags) => [...tags, grant._tag])
      }).pipe(Effect.orDie))
      yield* startReplica(nats, config, "replica-1")
      yield* advance(1_500)
      assert.strictEqual(yield* upstream.calls, 1)
      assert.deepStrictEqual(yield* Ref.get(seen), ["Wait"])
    }))

  it.effect("a leader that loses its lease stops answering for the provider, and its mints stop with it", () =>
    Effect.gen(function*() {
      const { consumer, nats, replicas, upstream } = yield* cluster(2)
      const first = tokenOf(yield* getToken(consumer))
      assert.strictEqual(yield* nats.interest(subjects.mint(PROVIDER)), 1)
      const leaderId = yield* lockHolder(consumer)
      const leader = replicas.find((replica) => replica.id === leaderId)!
      // Its lock renewals stop getting through, while a mint it started waits on the upstream.
      const release = yield* upstream.hold
      yield* Effect.forkChild(request(consumer, subjects.mint(PROVIDER), { reason: "operator" }))
      yield* advance(100)
      const leases = yield* leader.connection.bucket(subjects.leaseBucket, { ttlMillis: 3_000 })
      yield* leases.partition(true)
      yield* advance(6_000)
      assert.notStrictEqual(yield* lockHolder(consumer), leaderId)
      yield* leases.partition(false)
      yield* release
      // It joins again, and may be handed the provider back: the handover takes two renewal periods.
      yield* advance(3_000)
      // Only the new leader serves mint requests; the old one's mint never committed.
      assert.strictEqual(yield* nats.interest(subjects.mint(PROVIDER)), 1)
      const served = tokenOf(yield* getToken(consumer))
      assert.strictEqual(served.version, first.version)
    }))
})
