// Deleting and recreating an in-memory bucket must do what `kv.destroy()`
// and creating the bucket again do on a server, or the tests of versions and
// terms that survive it prove nothing: a new empty stream, revisions from 1,
// a later creation time, operations failing while it is gone, handles made
// before working on the new stream. And the store keeps its own clock.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { KvConflict, KvError } from "../../src/NatsError.ts"
import { makeMemoryKvStore } from "../../src/testing/MemoryKvBucket.ts"
import { makeMemoryNats } from "../../src/testing/MemoryNats.ts"

describe("MemoryKvStore destroy and recreate", () => {
  it.effect("a recreated bucket is empty, counts revisions from 1 and was created later", () =>
    Effect.gen(function*() {
      const store = yield* makeMemoryKvStore("tokens")
      const kv = yield* store.view
      for (let i = 0; i < 5; i++) yield* kv.create(`key-${i}`, "v")
      const createdBefore = yield* kv.created
      yield* TestClock.adjust(60_000)
      yield* store.recreate
      assert.isTrue(Option.isNone(yield* kv.get("key-0")))
      // The handle made before works on the new stream.
      assert.strictEqual(yield* kv.create("key-0", "again"), 1)
      assert.strictEqual(yield* kv.created, createdBefore + 60_000)
      // An update against a revision of the old stream conflicts.
      assert.strictEqual((yield* Effect.flip(kv.update("key-0", "x", 5)))._tag, "KvConflict")
    }))

  it.effect("while it is gone every operation fails with KvError, not a conflict", () =>
    Effect.gen(function*() {
      const store = yield* makeMemoryKvStore("leases")
      const kv = yield* store.view
      const revision = yield* kv.create("lock", "a")
      yield* store.destroy
      assert.isTrue(yield* store.destroyed)
      const operations: ReadonlyArray<Effect.Effect<unknown, KvConflict | KvError>> = [
        kv.get("lock"),
        kv.create("lock", "b"),
        kv.update("lock", "b", revision),
        kv.created
      ]
      for (const operation of operations) {
        assert.strictEqual((yield* Effect.flip(operation))._tag, "KvError")
      }
      yield* store.recreate
      assert.strictEqual(yield* kv.create("lock", "b"), 1)
    }))

  it.effect("a watch started before the destroy sees nothing of the new stream; one started after does", () =>
    Effect.gen(function*() {
      const store = yield* makeMemoryKvStore("leases")
      const kv = yield* store.view
      const old = yield* kv.watch("lock").pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
      yield* Effect.yieldNow
      yield* store.recreate
      const fresh = yield* kv.watch("lock").pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
      yield* Effect.yieldNow
      yield* kv.create("lock", "a")
      yield* Effect.repeat(Effect.yieldNow, { times: 20 })
      assert.deepStrictEqual((yield* Fiber.join(fresh)).map((change) => change.revision), [1])
      assert.isUndefined(old.pollUnsafe())
    }))

  it.effect("keys expire on the store's clock, whatever clock a client runs on", () =>
    Effect.gen(function*() {
      const store = yield* makeMemoryKvStore("leases", { ttlMillis: 1000 })
      const kv = yield* store.view
      const base = yield* Clock.Clock
      const millis = () => base.currentTimeMillisUnsafe() + 10_000
      const ahead: Clock.Clock = { ...base, currentTimeMillisUnsafe: millis, currentTimeMillis: Effect.sync(millis) }
      yield* Effect.provideService(kv.create("lock", "a"), Clock.Clock, ahead)
      yield* TestClock.adjust(999)
      assert.isTrue(Option.isSome(yield* kv.get("lock")))
      yield* TestClock.adjust(1)
      assert.isTrue(Option.isNone(yield* kv.get("lock")))
    }))

  it.effect("opening a deleted bucket on the in-memory server creates it again, as Kvm.create does", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const first = yield* nats.connection("first")
      yield* Effect.flatMap(first.bucket("tokens", {}), (kv) => kv.create("key", "v"))
      const store = yield* nats.bucketStore("tokens")
      assert.isTrue(Option.isSome(store))
      if (Option.isSome(store)) yield* store.value.destroy
      const second = yield* nats.connection("second")
      const kv = yield* second.bucket("tokens", {})
      assert.strictEqual(yield* kv.create("key", "v"), 1)
      assert.isTrue(Option.isNone(yield* nats.bucketStore("never-opened")))
    }))
})
