// KV buckets through the in-memory server. Replicas elect a leader and share
// tokens through buckets each opens on its own connection, so the buckets must
// be one per name on the server (whoever opens them), expire keys by the
// Clock, and give each connection a view of its own to cut off.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { makeMemoryNats } from "../../src/testing/MemoryNats.ts"

const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

describe("MemoryNats KV", () => {
  it.effect("a bucket name is one bucket on the server, whichever connection opens it", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const a = yield* (yield* server.connection("a")).bucket("leases", { ttlMillis: 6000 })
      const b = yield* (yield* server.connection("b")).bucket("leases", { ttlMillis: 6000 })
      const revision = yield* a.create("leader", "a")
      assert.deepStrictEqual(yield* b.get("leader"), Option.some({ revision, value: "a" }))
      assert.strictEqual((yield* Effect.flip(b.create("leader", "b")))._tag, "KvConflict")
      assert.isAbove(yield* b.update("leader", "b", revision), revision)
      assert.deepStrictEqual(Option.map(yield* a.get("leader"), (entry) => entry.value), Option.some("b"))

      // Another name is another bucket, with its own revisions.
      const tokens = yield* (yield* server.connection("c")).bucket("tokens", {})
      assert.isTrue(Option.isNone(yield* tokens.get("leader")))
      assert.strictEqual(yield* tokens.create("leader", "t"), 1)
    }))

  it.effect("keys expire after the first opener's TTL, by Clock time", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const a = yield* (yield* server.connection("a")).bucket("leases", { ttlMillis: 1000 })
      // A later opener's options do not change the bucket, as with openBucket on a real server.
      const b = yield* (yield* server.connection("b")).bucket("leases", { ttlMillis: 60_000 })
      yield* a.create("leader", "a")
      yield* TestClock.adjust(999)
      assert.isTrue(Option.isSome(yield* b.get("leader")))
      yield* TestClock.adjust(1)
      assert.isTrue(Option.isNone(yield* b.get("leader")))
      assert.strictEqual(yield* b.create("leader", "b"), 2)

      const forever = yield* (yield* server.connection("c")).bucket("tokens", {})
      yield* forever.create("token", "t")
      yield* TestClock.adjust(3_600_000)
      assert.isTrue(Option.isSome(yield* forever.get("token")), "a bucket without TTL keeps its keys")
    }))

  it.effect("a connection gets the same view on every call, and its own: partitioning it stops only that one", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const a = yield* server.connection("a")
      const view = yield* a.bucket("leases", {})
      assert.strictEqual(yield* a.bucket("leases", {}), view)
      const other = yield* (yield* server.connection("b")).bucket("leases", {})

      yield* view.partition(true)
      const write = yield* Effect.forkChild(view.create("leader", "a"))
      yield* settle
      assert.isUndefined(write.pollUnsafe())
      assert.strictEqual(yield* other.create("leader", "b"), 1)
      yield* view.partition(false)
      assert.strictEqual((yield* Effect.flip(Fiber.join(write)))._tag, "KvConflict")
    }))

  it.effect("a watch on one connection sees writes made through another", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const watcher = yield* (yield* server.connection("follower")).bucket("leases", {})
      const writer = yield* (yield* server.connection("leader")).bucket("leases", {})
      const seen = yield* watcher.watch("leader").pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* settle
      const revision = yield* writer.create("leader", "l")
      yield* writer.deleteAt("leader", revision)
      assert.deepStrictEqual((yield* Fiber.join(seen)).map((change) => change.operation), ["PUT", "DEL"])
    }))

  it.effect("a watch on a disconnected connection sees nothing until it reconnects, and ends when it closes", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const follower = yield* server.connection("follower")
      const watcher = yield* follower.bucket("leases", {})
      const writer = yield* (yield* server.connection("leader")).bucket("leases", {})
      const seen = yield* watcher.watch("leader").pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
      yield* settle
      yield* follower.disconnect
      yield* writer.create("leader", "l")
      yield* settle
      assert.isUndefined(seen.pollUnsafe())
      yield* follower.reconnect
      assert.strictEqual((yield* Fiber.join(seen)).length, 1)

      const ended = yield* watcher.watch("leader").pipe(Stream.runCollect, Effect.flip, Effect.forkChild)
      yield* settle
      yield* follower.close
      assert.strictEqual((yield* Fiber.join(ended))._tag, "KvError")
    }))
})
