// The member watch (leadership/Membership.ts) on the in-memory NATS, under
// TestClock, when the leases bucket is deleted and created again: a watch on
// the old stream shows nothing of the new one (as nats.js gives no word of
// it). A replica whose own key had gone from its view (deleted when it lost
// its lease) and then rejoins in the new bucket must start its watch again
// and see the members, not keep a view without itself for good (chaos seed
// 756134445: 20.9 s without a leader). A replica that starts watching just
// after a member died counts it gone about a lease after its last renewal
// was written (a renewal period more at most: the dating is capped), not a
// lease after its watch began (chaos seed 1805255867: a replica started
// 2.3 s after a leader's SIGKILL waited for it to hand its provider over;
// 4.6 s without a leader). Only that first replay waits for its end: a
// change after it is applied at once, even while the watch lags.
import { assert, describe, it } from "@effect/vitest"
import { memberKeyPrefix } from "@tokenbus/core"
import type { KvBucket, KvEntryChange } from "@tokenbus/nats"
import { Effect, Queue, Stream, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import { watchMembers } from "../../src/leadership/Membership.ts"
import { makeMemoryNats, recreateBucket } from "../support/MemoryCluster.ts"

const lease = { ttlMillis: 1500, renewEveryMillis: 300, safetyMarginMillis: 500 } as const
const bucketName = "tb-leases"
const key = (member: string) => `${memberKeyPrefix}${member}`
const value = (member: string) => JSON.stringify({ instance: `${member}-1` })

/** Writes each member's key: created first, updated after. */
const renewals = (bucket: KvBucket) => {
  const revisions = new Map<string, number>()
  const renew = (member: string) =>
    Effect.gen(function*() {
      const revision = revisions.get(member)
      const next = yield* (revision === undefined
        ? bucket.create(key(member), value(member))
        : bucket.update(key(member), value(member), revision))
      revisions.set(member, next)
    })
  return { revisions, renew }
}

describe("a member watch started after a member died", () => {
  it.effect("counts the dead member gone about a lease after its last renewal was written", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const connection = yield* nats.connection("newcomer")
      const bucket = yield* connection.bucket(bucketName, { history: 1, ttlMillis: 0 })
      const { renew } = renewals(bucket)
      yield* renew("dead")
      yield* renew("live")
      // "dead" is SIGKILLed here; "live" renews on; the newcomer starts watching 1.2 s later.
      for (let step = 0; step < 4; step++) {
        yield* TestClock.adjust(lease.renewEveryMillis)
        yield* renew("live")
      }
      const members = yield* watchMembers({ bucket, self: "newcomer", lease })
      yield* Effect.repeat(Effect.yieldNow, { times: 20 })
      assert.deepStrictEqual(yield* SubscriptionRef.get(members.live), ["dead", "live"])
      // A lease after dead's last renewal, plus one renewal period for the watch to show a later one.
      for (let step = 0; step < 2; step++) {
        yield* TestClock.adjust(lease.renewEveryMillis)
        yield* renew("live")
      }
      assert.deepStrictEqual(yield* SubscriptionRef.get(members.live), ["live"])
    }))
})

/** A leases bucket whose watch delivers what the test offers: only the watch is used by the member view. */
const scriptedBucket = (changes: Queue.Queue<KvEntryChange>): KvBucket => ({
  name: bucketName,
  created: Effect.die("not used"),
  get: () => Effect.die("not used"),
  create: () => Effect.die("not used"),
  update: () => Effect.die("not used"),
  deleteAt: () => Effect.die("not used"),
  watch: () => Stream.die("not used"),
  watchAll: () => Stream.fromQueue(changes)
})

const put = (member: string, writtenAt: number, pending: number): KvEntryChange =>
  ({ key: key(member), revision: writtenAt, operation: "PUT", value: value(member), writtenAt, pending })

describe("a member watch that lags behind the stream", () => {
  it.effect("applies a change as it comes once the replay is over, however much is pending after it", () =>
    Effect.gen(function*() {
      const changes = yield* Queue.unbounded<KvEntryChange>()
      const members = yield* watchMembers({ bucket: scriptedBucket(changes), self: "self", lease })
      yield* Queue.offerAll(changes, [put("self", 1_000, 1), put("other", 1_100, 0)])
      yield* Effect.repeat(Effect.yieldNow, { times: 20 })
      assert.deepStrictEqual(yield* SubscriptionRef.get(members.live), ["other", "self"])
      // A member joins while the watch is three messages behind: it is a member now, not once caught up.
      yield* Queue.offer(changes, put("newcomer", 1_200, 3))
      yield* Effect.repeat(Effect.yieldNow, { times: 20 })
      assert.deepStrictEqual(yield* SubscriptionRef.get(members.live), ["newcomer", "other", "self"])
    }))
})

describe("the member watch after the leases bucket is made again", () => {
  it.effect("a replica whose own key had gone from its view sees itself and the others again", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const connection = yield* nats.connection("self")
      const bucket = yield* connection.bucket(bucketName, { history: 1, ttlMillis: 0 })
      const members = yield* watchMembers({ bucket, self: "self", lease })
      const { renew, revisions } = renewals(bucket)
      yield* renew("self")
      yield* renew("other")
      yield* TestClock.adjust(lease.renewEveryMillis)
      assert.deepStrictEqual(yield* SubscriptionRef.get(members.live), ["other", "self"])

      // This replica lost its lease and left: its key is deleted, and its view drops it.
      yield* bucket.deleteAt(key("self"), revisions.get("self")!)
      revisions.delete("self")
      yield* TestClock.adjust(lease.renewEveryMillis)
      assert.deepStrictEqual(yield* SubscriptionRef.get(members.live), ["other"])

      // The bucket is made again; both renew into the new one.
      yield* recreateBucket(nats, bucketName)
      revisions.clear()
      for (let step = 0; step < 20; step++) {
        yield* Effect.all([renew("self"), renew("other")], { discard: true })
        yield* TestClock.adjust(lease.renewEveryMillis)
      }
      assert.deepStrictEqual(yield* SubscriptionRef.get(members.live), ["other", "self"])
    }))
})
