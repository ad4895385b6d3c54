// The in-memory bucket must behave like the real one wherever tokenbus
// depends on it, or the leader-election tests built on it prove nothing.
// These are the cases of test/NatsKvSemantics.test.ts (run against a real
// nats-server), with TestClock in place of waiting for the TTL, plus the
// watch and the partition switch.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import { makeMemoryKvBucket, makeMemoryKvStore, type MemoryKvBucket } from "../../src/testing/MemoryKvBucket.ts"

const expectConflict = <A, E extends { readonly _tag: string }>(operation: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(operation)
    assert.strictEqual(error._tag, "KvConflict")
  })

const valueOf = (bucket: MemoryKvBucket, key: string) =>
  Effect.map(bucket.get(key), Option.map((entry) => entry.value))

/** Lets forked fibers run up to their next suspension. */
const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

describe("MemoryKvBucket", () => {
  it.effect("(1) create on a live key conflicts; of racing creates exactly one wins", () =>
    Effect.gen(function*() {
      const kv = yield* makeMemoryKvBucket("leases")
      const revision = yield* kv.create("leader", "node-a")
      assert.strictEqual(revision, 1)

      yield* expectConflict(kv.create("leader", "node-b"))
      const entry = yield* kv.get("leader")
      assert.deepStrictEqual(entry, Option.some({ revision, value: "node-a" }))

      const contenders = ["a", "b", "c", "d", "e"]
      const results = yield* Effect.forEach(contenders, (who) => Effect.result(kv.create("race", who)), {
        concurrency: "unbounded"
      })
      const winners = results.flatMap((result, i) => (Result.isSuccess(result) ? [contenders[i]] : []))
      assert.strictEqual(winners.length, 1)
      for (const result of results) {
        if (Result.isFailure(result)) assert.strictEqual(result.failure._tag, "KvConflict")
      }
      assert.deepStrictEqual(yield* valueOf(kv, "race"), Option.some(winners[0]))
    }))

  it.effect("(2) update needs the key's current revision and returns a higher one", () =>
    Effect.gen(function*() {
      const kv = yield* makeMemoryKvBucket("tokens")
      const first = yield* kv.create("token", "t1")
      const other = yield* kv.create("other", "x")
      assert.isAbove(other, first)

      // Too high, another key's revision, a key that never existed.
      yield* expectConflict(kv.update("token", "t2", first + 100))
      yield* expectConflict(kv.update("token", "t2", other))
      yield* expectConflict(kv.update("missing", "m", first))

      const second = yield* kv.update("token", "t2", first)
      assert.isAbove(second, first)
      assert.deepStrictEqual(yield* valueOf(kv, "token"), Option.some("t2"))

      // A stale writer holding the old revision loses and changes nothing.
      yield* expectConflict(kv.update("token", "t3", first))
      assert.deepStrictEqual(yield* kv.get("token"), Option.some({ revision: second, value: "t2" }))

      // nats.js refuses revision 0 before sending: an error, not a conflict.
      const refused = yield* Effect.flip(kv.update("token", "t3", 0))
      assert.strictEqual(refused._tag, "KvError")
    }))

  it.effect("(3) with a TTL a key left alone expires at exactly ttl and can be created again; renewed keys stay", () =>
    Effect.gen(function*() {
      const ttl = 1500
      const kv = yield* makeMemoryKvBucket("leases", { ttlMillis: ttl })
      const staleRevision = yield* kv.create("stale", "held-by-a")
      let liveRevision = yield* kv.create("live", "held-by-b")

      // Renew "live" every 500 ms, as a lease holder would, across the ttl.
      for (let renewal = 1; renewal <= 2; renewal++) {
        yield* TestClock.adjust(500)
        liveRevision = yield* kv.update("live", `held-by-b #${renewal}`, liveRevision)
      }
      yield* TestClock.adjust(499)
      assert.isTrue(Option.isSome(yield* kv.get("stale")), "not gone 1 ms before the ttl")
      yield* expectConflict(kv.create("stale", "held-by-c"))

      yield* TestClock.adjust(1)
      assert.isTrue(Option.isNone(yield* kv.get("stale")), "gone at the ttl")
      // Expiry leaves no marker: the old revision no longer matches anything.
      yield* expectConflict(kv.update("stale", "late", staleRevision))
      yield* expectConflict(kv.deleteAt("stale", staleRevision))
      const recreated = yield* kv.create("stale", "held-by-c")
      assert.isAbove(recreated, liveRevision)

      // "live" was last written 500 ms ago, so it is still held ...
      assert.deepStrictEqual(yield* kv.get("live"), Option.some({ revision: liveRevision, value: "held-by-b #2" }))
      yield* expectConflict(kv.create("live", "held-by-c"))
      // ... until ttl after that write.
      yield* TestClock.adjust(ttl - 500 - 1)
      assert.isTrue(Option.isSome(yield* kv.get("live")))
      yield* TestClock.adjust(1)
      assert.isTrue(Option.isNone(yield* kv.get("live")))
    }))

  it.effect("(4) deleteAt needs the current revision, leaves a marker that reads as absent, and create works after it", () =>
    Effect.gen(function*() {
      const kv = yield* makeMemoryKvBucket("leases")
      const first = yield* kv.create("leader", "node-a")
      yield* expectConflict(kv.deleteAt("leader", first + 1))
      assert.isTrue(Option.isSome(yield* kv.get("leader")))

      yield* kv.deleteAt("leader", first)
      assert.isTrue(Option.isNone(yield* kv.get("leader")))

      // The delete marker took first + 1.
      const second = yield* kv.create("leader", "node-b")
      assert.strictEqual(second, first + 2)
      assert.deepStrictEqual(yield* valueOf(kv, "leader"), Option.some("node-b"))
      yield* expectConflict(kv.create("leader", "node-c"))

      // Racing creates after a delete: exactly one wins.
      yield* kv.deleteAt("leader", second)
      const results = yield* Effect.forEach(["x", "y", "z"], (who) => Effect.result(kv.create("leader", who)), {
        concurrency: "unbounded"
      })
      assert.strictEqual(results.filter(Result.isSuccess).length, 1)
      for (const result of results) {
        if (Result.isFailure(result)) assert.strictEqual(result.failure._tag, "KvConflict")
      }
    }))

  it.effect("(5) revisions are one growing counter per bucket, shared by its views", () =>
    Effect.gen(function*() {
      const store = yield* makeMemoryKvStore("rev-a")
      const kv = yield* store.view
      const otherView = yield* store.view
      const a1 = yield* kv.create("a", "1")
      const b1 = yield* otherView.create("b", "1")
      const a2 = yield* kv.update("a", "2", a1)
      assert.deepStrictEqual([a1, b1, a2], [1, 2, 3])
      yield* otherView.deleteAt("b", b1) // the marker is revision 4
      assert.strictEqual(yield* kv.create("c", "1"), 5)
      assert.deepStrictEqual(yield* otherView.get("a"), Option.some({ revision: a2, value: "2" }))

      // Another bucket has its own counter.
      const other = yield* makeMemoryKvBucket("rev-b")
      assert.strictEqual(yield* other.create("a", "1"), 1)

      // Interleaved writers on many keys: distinct, consecutive revisions.
      const revisions = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => kv.create(`k${i}`, String(i)),
        { concurrency: "unbounded" }
      )
      const sorted = [...revisions].sort((x, y) => x - y)
      assert.deepStrictEqual(sorted, Array.from({ length: 20 }, (_, i) => 6 + i))
    }))

  it.effect("watch reports later writes and deletes of its key only", () =>
    Effect.gen(function*() {
      const kv = yield* makeMemoryKvBucket("leases")
      yield* kv.create("leader", "before-watch")
      const seen = yield* kv.watch("leader").pipe(Stream.take(3), Stream.runCollect, Effect.forkChild)
      yield* settle

      const r1 = yield* kv.update("leader", "a", 1)
      yield* kv.create("other", "x")
      yield* kv.deleteAt("leader", r1)
      const r3 = yield* kv.create("leader", "b")

      const changes = yield* Fiber.join(seen)
      assert.deepStrictEqual(changes, [
        { key: "leader", revision: r1, operation: "PUT" },
        { key: "leader", revision: r1 + 2, operation: "DEL" },
        { key: "leader", revision: r3, operation: "PUT" }
      ])
    }))

  it.effect("expiry sends nothing to watchers", () =>
    Effect.gen(function*() {
      const kv = yield* makeMemoryKvBucket("leases", { ttlMillis: 1000 })
      const seen = yield* kv.watch("leader").pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* settle
      const first = yield* kv.create("leader", "a")
      yield* TestClock.adjust(1000)
      assert.isTrue(Option.isNone(yield* kv.get("leader")))
      const second = yield* kv.create("leader", "b")
      assert.deepStrictEqual((yield* Fiber.join(seen)).map((change) => [change.revision, change.operation]), [
        [first, "PUT"],
        [second, "PUT"]
      ])
    }))

  it.effect("a partitioned view hangs until healed while other views carry on", () =>
    Effect.gen(function*() {
      const store = yield* makeMemoryKvStore("leases", { ttlMillis: 6000 })
      const a = yield* store.view
      const b = yield* store.view
      const first = yield* a.create("leader", "a")

      yield* a.partition(true)
      const renewal = yield* Effect.forkChild(a.update("leader", "a again", first))
      const read = yield* Effect.forkChild(a.get("leader"))
      yield* settle
      yield* TestClock.adjust(60_000)
      assert.isUndefined(renewal.pollUnsafe(), "an update completed while partitioned")
      assert.isUndefined(read.pollUnsafe(), "a get completed while partitioned")

      // The renewal never reached the bucket, so the lock expired and b can take it.
      const taken = yield* b.create("leader", "b")
      assert.isAbove(taken, first)

      yield* a.partition(false)
      // The delayed renewal now arrives, stale.
      const late = yield* Effect.flip(Fiber.join(renewal))
      assert.strictEqual(late._tag, "KvConflict")
      assert.deepStrictEqual(yield* Fiber.join(read), Option.some({ revision: taken, value: "b" }))
      assert.deepStrictEqual(yield* valueOf(a, "leader"), Option.some("b"))
    }))

  it.effect("an operation interrupted while partitioned never happens", () =>
    Effect.gen(function*() {
      const kv = yield* makeMemoryKvBucket("leases")
      yield* kv.partition(true)
      const create = yield* Effect.forkChild(kv.create("leader", "a"))
      yield* settle
      yield* Fiber.interrupt(create)
      yield* kv.partition(false)
      assert.isTrue(Option.isNone(yield* kv.get("leader")))
      assert.strictEqual(yield* kv.create("leader", "b"), 1)
    }))

  it.effect("a partitioned view's watch delivers nothing until healed, then what it missed", () =>
    Effect.gen(function*() {
      const store = yield* makeMemoryKvStore("leases")
      const a = yield* store.view
      const b = yield* store.view
      const seen = yield* a.watch("leader").pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* settle

      yield* a.partition(true)
      const r1 = yield* b.create("leader", "b")
      yield* b.deleteAt("leader", r1)
      yield* settle
      assert.isUndefined(seen.pollUnsafe())

      yield* a.partition(false)
      assert.deepStrictEqual((yield* Fiber.join(seen)).map((change) => change.operation), ["PUT", "DEL"])
    }))

  it.effect("with delayed replies a write is applied at once and answered later, even to a client that gave up", () =>
    Effect.gen(function*() {
      const store = yield* makeMemoryKvStore("leases")
      const slow = yield* store.view
      const other = yield* store.view
      yield* slow.delayReplies(1000)

      const create = yield* Effect.forkChild(slow.create("leader", "slow"))
      yield* settle
      assert.deepStrictEqual(yield* valueOf(other, "leader"), Option.some("slow"))
      yield* TestClock.adjust(999)
      assert.isUndefined(create.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Fiber.join(create), 1)

      // Giving up on the reply does not undo the write.
      const update = yield* Effect.forkChild(slow.update("leader", "slow again", 1))
      yield* settle
      yield* Fiber.interrupt(update)
      assert.deepStrictEqual(yield* other.get("leader"), Option.some({ revision: 2, value: "slow again" }))

      // Failures are delayed too; 0 turns the delay off.
      const refused = yield* Effect.forkChild(Effect.flip(slow.create("leader", "again")))
      yield* settle
      assert.isUndefined(refused.pollUnsafe())
      yield* TestClock.adjust(1000)
      assert.strictEqual((yield* Fiber.join(refused))._tag, "KvConflict")
      yield* slow.delayReplies(0)
      assert.deepStrictEqual(yield* valueOf(slow, "leader"), Option.some("slow again"))
    }))
})
