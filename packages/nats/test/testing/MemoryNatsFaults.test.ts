// Per-connection faults of the in-memory server. A replica test cuts one
// replica off and expects the others to carry on; that only means something
// if a disconnected client behaves as with nats.js: it loses what it sends,
// gets nothing, is no responder, its requests time out and its KV calls hang;
// and a closed connection fails everything at once.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { NatsConnection } from "../../src/NatsConnection.ts"
import { makeMemoryNats } from "../../src/testing/MemoryNats.ts"

const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

const reasonOf = <A>(request: Effect.Effect<A, { readonly reason: string }>) =>
  Effect.map(Effect.flip(request), (error) => error.reason)

describe("MemoryNats faults", () => {
  it.effect("a disconnected subscriber gets nothing, not even after it reconnects", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const replica = yield* server.connection("replica")
      const received: Array<string> = []
      yield* replica.subscribe("updates", {}, (message) => void received.push(message.string()))
      const leader = yield* server.connection("leader")

      yield* replica.disconnect
      assert.strictEqual(yield* server.interest("updates"), 0)
      yield* leader.publish("updates", "missed")
      yield* settle
      yield* replica.reconnect
      yield* settle
      assert.deepStrictEqual(received, [])

      yield* leader.publish("updates", "after")
      yield* settle
      assert.deepStrictEqual(received, ["after"])
    }))

  it.effect("what a disconnected client publishes is lost without an error", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const received: Array<string> = []
      yield* (yield* server.connection("replica")).subscribe("updates", {}, (m) => void received.push(m.string()))
      const leader = yield* server.connection("leader")
      yield* leader.disconnect
      yield* leader.publish("updates", "lost")
      yield* leader.reconnect
      yield* settle
      assert.deepStrictEqual(received, [])
      assert.deepStrictEqual(yield* server.published("updates"), [], "it never reached the server")
    }))

  it.effect("a disconnected queue member is skipped: the other members get every message", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const counts = { r1: 0, r2: 0 }
      const r1 = yield* server.connection("r1")
      const r2 = yield* server.connection("r2")
      for (const [name, replica] of [["r1", r1], ["r2", r2]] as const) {
        yield* replica.serve<never>("get", { queue: "replicas" }, (message) => {
          counts[name]++
          return void message.respond(name)
        })
      }
      yield* r2.disconnect
      const client = yield* server.connection("client")
      for (let i = 0; i < 20; i++) assert.strictEqual(yield* client.request("get", "", 1000), "r1")
      assert.deepStrictEqual(counts, { r1: 20, r2: 0 })
    }))

  it.effect("a disconnected sole responder is no responder; after reconnecting it answers again", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const leader = yield* server.connection("leader")
      yield* leader.serve<never>("mint", {}, (message) => void message.respond("token"))
      const replica = yield* server.connection("replica")
      yield* leader.disconnect
      assert.strictEqual(yield* reasonOf(replica.request("mint", "", 1000)), "no-responders")
      yield* leader.reconnect
      assert.strictEqual(yield* replica.request("mint", "", 1000), "token")
    }))

  it.effect("a disconnected client's request is lost and times out, as with nats.js", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const leader = yield* server.connection("leader")
      let asked = 0
      yield* leader.serve<never>("mint", {}, (message) => {
        asked++
        return void message.respond("token")
      })
      const replica = yield* server.connection("replica")
      yield* replica.disconnect
      const attempt = yield* Effect.forkChild(reasonOf(replica.request("mint", "", 250)))
      yield* TestClock.adjust(249)
      assert.isUndefined(attempt.pollUnsafe(), "failed before its timeout")
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Fiber.join(attempt), "timeout")
      assert.strictEqual(asked, 0)
    }))

  it.effect("an answer sent while the responder is disconnected is lost", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const leader = yield* server.connection("leader")
      yield* leader.serve("mint", {}, (message) =>
        Effect.sleep(100).pipe(Effect.andThen(Effect.sync(() => void message.respond("token")))))
      const replica = yield* server.connection("replica")
      const attempt = yield* Effect.forkChild(reasonOf(replica.request("mint", "", 250)))
      yield* settle
      yield* leader.disconnect
      yield* TestClock.adjust(250)
      assert.strictEqual(yield* Fiber.join(attempt), "timeout")
    }))

  it.effect("while disconnected, KV calls and opening a bucket wait; reconnecting lets them through", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const replica = yield* server.connection("replica")
      const other = yield* server.connection("other")
      const leases = yield* replica.bucket("leases", {})
      yield* replica.disconnect

      const create = yield* Effect.forkChild(leases.create("leader", "replica"))
      const open = yield* Effect.forkChild(replica.bucket("tokens", {}))
      yield* settle
      yield* TestClock.adjust(60_000)
      assert.isUndefined(create.pollUnsafe(), "a KV write went through while disconnected")
      assert.isUndefined(open.pollUnsafe(), "a bucket opened while disconnected")
      const otherLeases = yield* other.bucket("leases", {})
      assert.isTrue(Option.isNone(yield* otherLeases.get("leader")))

      yield* replica.reconnect
      assert.strictEqual(yield* Fiber.join(create), 1)
      const tokens = yield* Fiber.join(open)
      assert.strictEqual(yield* tokens.create("t", "x"), 1)
      assert.deepStrictEqual(yield* otherLeases.get("leader"), Option.some({ revision: 1, value: "replica" }))
    }))

  it.effect("a closed connection fails requests (also waiting ones), publishes and KV calls at once", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const silent = yield* server.connection("silent")
      yield* silent.subscribe("svc", {}, () => undefined)
      const client = yield* server.connection("client")
      const leases = yield* client.bucket("leases", {})
      const waiting = yield* Effect.forkChild(reasonOf(client.request("svc", "", 60_000)))
      yield* leases.partition(true)
      const hungWrite = yield* Effect.forkChild(Effect.flip(leases.create("k", "v")))
      yield* settle

      yield* client.close
      assert.strictEqual(yield* Fiber.join(waiting), "connection")
      assert.strictEqual((yield* Fiber.join(hungWrite))._tag, "KvError")
      assert.strictEqual(yield* reasonOf(client.request("svc", "", 1000)), "connection")
      assert.strictEqual((yield* Effect.flip(client.publish("svc", "x")))._tag, "NatsPublishError")
      assert.strictEqual((yield* Effect.flip(leases.get("k")))._tag, "KvError")
      assert.strictEqual((yield* Effect.flip(client.bucket("tokens", {})))._tag, "KvError")
      const seenByOthers = yield* silent.bucket("leases", {})
      assert.isTrue(Option.isNone(yield* seenByOthers.get("k")), "the hung write never happened")
    }))

  it.effect("closing a connection's scope closes it; `layer` gives code under test a NatsConnection", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const leader = yield* server.connection("leader")
      yield* leader.serve<never>("mint", {}, (message) => void message.respond("token"))
      const scope = yield* Scope.make()
      const replica = yield* server.connection("replica").pipe(Scope.provide(scope))
      assert.strictEqual(yield* replica.request("mint", "", 1000), "token")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* reasonOf(replica.request("mint", "", 1000)), "connection")

      const viaLayer = Effect.gen(function*() {
        const nats = yield* NatsConnection
        return yield* nats.request("mint", "", 1000)
      })
      assert.strictEqual(yield* viaLayer.pipe(Effect.provide(server.layer("consumer"))), "token")
      assert.strictEqual(yield* viaLayer.pipe(Effect.provide(leader.layer)), "token")
    }))
})
