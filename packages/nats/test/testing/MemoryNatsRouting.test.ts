// Who gets a message on the in-memory server. Replica tests built on it are
// only worth something if it routes like nats-server: wildcards, every plain
// subscriber, one member per queue group, asynchronous but ordered delivery,
// and a log of what reached the server for tests to assert broadcasts on.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Random, Scope } from "effect"
import type { InboundMessage } from "../../src/NatsConnection.ts"
import { makeMemoryNats, makeMemoryNatsWith, type MemoryNatsOptions } from "../../src/testing/MemoryNats.ts"
import type { MemoryNatsConnection } from "../../src/testing/MemoryNatsConnection.ts"

/** Lets the subscriptions' fibers take what is in their mailboxes. */
const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

const collect = (connection: MemoryNatsConnection, subject: string, queue?: string) =>
  Effect.gen(function*() {
    const received: Array<InboundMessage> = []
    yield* connection.subscribe(subject, queue === undefined ? {} : { queue }, (message) => void received.push(message))
    return received
  })

const subjectsOf = (received: ReadonlyArray<InboundMessage>) => received.map((message) => message.subject)

describe("MemoryNats routing", () => {
  it.effect("`*` matches one token, `>` one or more trailing tokens, anything else only itself", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const client = yield* server.connection("subscriber")
      const patterns = ["a", "a.b", "a.*", "a.>", "*.b", "a.*.c", ">", "a*.b"] as const
      const seen = new Map<string, Array<InboundMessage>>()
      for (const pattern of patterns) seen.set(pattern, yield* collect(client, pattern))

      const publisher = yield* server.connection("publisher")
      for (const subject of ["a", "a.b", "a.b.c", "x.b", "a.x.c", "a*.b", "a.b.c.d"]) {
        yield* publisher.publish(subject, subject)
      }
      yield* settle

      const expected: Record<(typeof patterns)[number], ReadonlyArray<string>> = {
        "a": ["a"],
        "a.b": ["a.b"],
        "a.*": ["a.b"],
        "a.>": ["a.b", "a.b.c", "a.x.c", "a.b.c.d"],
        "*.b": ["a.b", "x.b", "a*.b"],
        "a.*.c": ["a.b.c", "a.x.c"],
        ">": ["a", "a.b", "a.b.c", "x.b", "a.x.c", "a*.b", "a.b.c.d"],
        "a*.b": ["a*.b"]
      }
      for (const pattern of patterns) assert.deepStrictEqual(subjectsOf(seen.get(pattern)!), expected[pattern], pattern)
    }))

  it.effect("every plain subscriber gets every message, its own copy of the bytes, and a message like nats.js's", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const first = yield* collect(yield* server.connection("a"), "updates")
      const second = yield* collect(yield* server.connection("b"), "updates")
      const sameClient = yield* collect(yield* server.connection("c"), "updates")
      const publisher = yield* server.connection("leader")
      yield* publisher.publish("updates", "héllo")
      yield* settle

      for (const received of [first, second, sameClient]) {
        assert.strictEqual(received.length, 1)
        const [message] = received
        assert.instanceOf(message!.data, Uint8Array)
        assert.strictEqual(message!.string(), "héllo")
        assert.strictEqual(message!.reply, "", "nats.js reads a missing reply subject as an empty string")
        assert.isFalse(message!.respond("nobody asked"), "respond without a reply subject sends nothing")
      }
      first[0]!.data.fill(0)
      assert.strictEqual(second[0]!.string(), "héllo")
    }))

  it.effect("of the subscribers in a queue group exactly one gets each message, whatever subject each used", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const members = [
        yield* collect(yield* server.connection("r1"), "p.token.*.get", "replicas"),
        yield* collect(yield* server.connection("r2"), "p.token.*.get", "replicas"),
        yield* collect(yield* server.connection("r3"), "p.token.>", "replicas")
      ]
      const otherGroup = yield* collect(yield* server.connection("audit"), "p.>", "auditors")
      const plain = yield* collect(yield* server.connection("observer"), "p.token.*.get")

      const publisher = yield* server.connection("consumer")
      const sent = Array.from({ length: 60 }, (_, i) => `p.token.t${i}.get`)
      for (const subject of sent) yield* publisher.publish(subject, "")
      yield* settle

      const got = members.flatMap(subjectsOf)
      assert.deepStrictEqual([...got].sort(), [...sent].sort(), "each message went to exactly one member")
      for (const member of members) assert.isAbove(member.length, 0, "the choice is spread over the members")
      assert.deepStrictEqual(subjectsOf(otherGroup), sent, "another group gets its own copy")
      assert.deepStrictEqual(subjectsOf(plain), sent)
    }))

  it.effect("the queue group choices repeat on every run, and change with the seed", () =>
    Effect.gen(function*() {
      const choices = (options: MemoryNatsOptions) =>
        Effect.gen(function*() {
          const server = yield* makeMemoryNatsWith(options)
          const members = [
            yield* collect(yield* server.connection("r1"), "get", "q"),
            yield* collect(yield* server.connection("r2"), "get", "q")
          ]
          const publisher = yield* server.connection("consumer")
          for (let i = 0; i < 20; i++) yield* publisher.publish("get", String(i))
          yield* settle
          return members.map((received) => received.map((message) => message.string()))
        })
      const first = yield* choices({})
      assert.deepStrictEqual(yield* choices({}), first)
      assert.isAbove(first[0]!.length, 0)
      assert.isAbove(first[1]!.length, 0)
      const seeded = yield* choices({ seed: 7 })
      assert.deepStrictEqual(yield* choices({ seed: 7 }), seeded)
      assert.notDeepEqual(seeded, first)
      // The Random a test runs with does not change the server's choices.
      assert.deepStrictEqual(yield* choices({}).pipe(Random.withSeed("other")), first)
    }))

  it.effect("delivery is asynchronous, and keeps each publisher's order", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const subscriber = yield* server.connection("subscriber")
      const order: Array<string> = []
      yield* subscriber.subscribe("ordered", {}, (message) => void order.push(message.string()))
      const a = yield* server.connection("a")
      const b = yield* server.connection("b")

      yield* a.publish("ordered", "a0")
      assert.deepStrictEqual(order, [], "a callback ran inside publish")
      for (let i = 1; i < 30; i++) {
        yield* b.publish("ordered", `b${i}`)
        yield* a.publish("ordered", `a${i}`)
      }
      yield* settle

      const from = (sender: string) => order.filter((entry) => entry.startsWith(sender))
      assert.deepStrictEqual(from("a"), Array.from({ length: 30 }, (_, i) => `a${i}`))
      assert.deepStrictEqual(from("b"), Array.from({ length: 29 }, (_, i) => `b${i + 1}`))
    }))

  it.effect("closing a subscription's scope stops delivery at once but hands over what had arrived", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const client = yield* server.connection("client")
      const received: Array<string> = []
      const scope = yield* Scope.make()
      yield* client.subscribe("s", {}, (message) => void received.push(message.string())).pipe(Scope.provide(scope))
      yield* client.publish("s", "before")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* server.interest("s"), 0)
      yield* client.publish("s", "late")
      yield* settle
      assert.deepStrictEqual(received, ["before"])
    }))

  it.effect("the log holds what reached the server, with its sender, time and reply subject", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const leader = yield* server.connection("leader")
      const replica = yield* server.connection("replica")
      yield* replica.serve<never>("p.leader.x.mint", {}, (message) => void message.respond("minted"))
      yield* leader.publish("p.token.x.updates", "v1")
      yield* replica.publish("p.token.y.updates", "v2")
      yield* leader.publish("p.other", "ignored")
      assert.strictEqual(yield* leader.request("p.leader.x.mint", "mint?", 1000), "minted")

      const updates = yield* server.published("p.token.*.updates")
      assert.deepStrictEqual(updates.map(({ from, payload, subject }) => ({ from, payload, subject })), [
        { from: "leader", payload: "v1", subject: "p.token.x.updates" },
        { from: "replica", payload: "v2", subject: "p.token.y.updates" }
      ])
      assert.strictEqual(updates[0]!.at, 0)
      const [asked] = yield* server.published("p.leader.>")
      assert.strictEqual(asked!.payload, "mint?")
      const replies = yield* server.published(`${asked!.reply.split(".")[0]}.>`)
      assert.deepStrictEqual(replies.map(({ from, payload }) => ({ from, payload })), [
        { from: "replica", payload: "minted" }
      ])
    }))

  it.effect("subjects NATS would refuse are refused", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const client = yield* server.connection("client")
      for (const subject of ["", "a..b", "a b", "a.*", "a.>"]) {
        const error = yield* Effect.flip(client.publish(subject, "x"))
        assert.strictEqual(error._tag, "NatsPublishError", subject)
      }
      const misplaced = yield* Effect.exit(client.subscribe("a.>.b", {}, () => undefined))
      assert.isTrue(misplaced._tag === "Failure", "a `>` that is not last is not a subscription")
    }))
})
