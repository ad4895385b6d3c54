// Request/reply and `serve` on the in-memory server, under TestClock. The
// replica's ask-the-leader loop tells no-responders (retry after a pause)
// from a timeout (ask again at once), and a stopping replica must still
// answer what it was given: if the double got these wrong, tests of that
// code would pass against behaviour the real server never shows.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import { makeMemoryNats } from "../../src/testing/MemoryNats.ts"

/** Lets forked fibers and subscriptions run up to their next suspension. */
const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

const reasonOf = <A>(request: Effect.Effect<A, { readonly reason: string }>) =>
  Effect.map(Effect.flip(request), (error) => error.reason)

describe("MemoryNats request/reply", () => {
  it.effect("a request reaches a responder, which may answer with text or bytes", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const responder = yield* server.connection("leader")
      const seen: Array<{ subject: string; reply: string }> = []
      yield* responder.serve<never>("svc.*", {}, (message) => {
        seen.push({ subject: message.subject, reply: message.reply ?? "" })
        const text = message.string().toUpperCase()
        const sent = message.respond(message.subject === "svc.bytes" ? new TextEncoder().encode(text) : text)
        assert.isTrue(sent)
        return undefined
      })
      const client = yield* server.connection("client")
      assert.strictEqual(yield* client.request("svc.text", "hello", 1000), "HELLO")
      assert.strictEqual(yield* client.request("svc.bytes", "bytes", 1000), "BYTES")
      assert.deepStrictEqual(seen.map((message) => message.subject), ["svc.text", "svc.bytes"])
      assert.isTrue(seen.every((message) => message.reply.startsWith("_INBOX.")))
      assert.notStrictEqual(seen[0]!.reply, seen[1]!.reply, "each request has its own inbox")
    }))

  it.effect("the first reply wins; a later one is dropped", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const fast = yield* server.connection("fast")
      const slow = yield* server.connection("slow")
      yield* slow.serve("svc", {}, (message) =>
        Effect.andThen(Effect.sleep(100), Effect.sync(() => void message.respond("slow"))))
      yield* fast.serve<never>("svc", {}, (message) => void message.respond("fast"))
      const client = yield* server.connection("client")
      const reply = yield* Effect.forkChild(client.request("svc", "", 1000))
      yield* TestClock.adjust(100)
      assert.strictEqual(yield* Fiber.join(reply), "fast")
      assert.deepStrictEqual((yield* server.published("_INBOX.>")).map((message) => message.payload), ["fast", "slow"])
    }))

  it.effect("with nobody subscribed a request fails with no-responders at once", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const client = yield* server.connection("client")
      const attempt = yield* Effect.forkChild(reasonOf(client.request("nobody.home", "", 60_000)))
      yield* settle
      assert.isDefined(attempt.pollUnsafe(), "it waited instead of failing")
      assert.strictEqual(yield* Fiber.join(attempt), "no-responders")

      // A subscription counts while it lasts; once its scope is closed nobody answers again.
      const scope = yield* Scope.make()
      yield* client.serve<never>("nobody.home", {}, (message) => void message.respond("here")).pipe(
        Scope.provide(scope)
      )
      assert.strictEqual(yield* client.request("nobody.home", "", 1000), "here")
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* reasonOf(client.request("nobody.home", "", 60_000)), "no-responders")
    }))

  it.effect("an unanswered request times out after exactly timeoutMillis of Clock time", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const silent = yield* server.connection("silent")
      let asked = 0
      yield* silent.subscribe("svc", {}, () => void asked++)
      const client = yield* server.connection("client")
      const attempt = yield* Effect.forkChild(reasonOf(client.request("svc", "", 250)))
      yield* TestClock.adjust(249)
      assert.isUndefined(attempt.pollUnsafe(), "timed out early")
      assert.strictEqual(asked, 1)
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Fiber.join(attempt), "timeout")
    }))

  it.effect("serve may return the effect that answers, and requests wait for it", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const leader = yield* server.connection("leader")
      yield* leader.serve("mint", {}, (message) =>
        Effect.sleep(1000).pipe(Effect.andThen(Effect.sync(() => void message.respond(`minted ${message.string()}`)))))
      const client = yield* server.connection("client")
      const first = yield* Effect.forkChild(client.request("mint", "a", 5000))
      const second = yield* Effect.forkChild(client.request("mint", "b", 5000))
      yield* TestClock.adjust(999)
      assert.isUndefined(first.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.deepStrictEqual([yield* Fiber.join(first), yield* Fiber.join(second)], ["minted a", "minted b"])
    }))

  it.effect("closing serve's scope stops new requests at once and waits for the answers under way", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const replica = yield* server.connection("replica")
      const scope = yield* Scope.make()
      yield* replica.serve("get", { queue: "replicas" }, (message) =>
        Effect.sleep(500).pipe(Effect.andThen(Effect.sync(() => void message.respond("answered"))))).pipe(
          Scope.provide(scope)
        )
      const client = yield* server.connection("client")
      const inFlight = yield* Effect.forkChild(client.request("get", "", 5000))
      yield* settle

      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* settle
      assert.strictEqual(yield* reasonOf(client.request("get", "", 5000)), "no-responders")
      assert.isUndefined(closing.pollUnsafe(), "closed without waiting for the answer under way")

      yield* TestClock.adjust(500)
      assert.strictEqual(yield* Fiber.join(inFlight), "answered")
      yield* Fiber.join(closing)
    }))

  it.effect("closing serve's scope waits for a hung answer for 2 s at most", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const replica = yield* server.connection("replica")
      const scope = yield* Scope.make()
      yield* replica.serve("get", {}, () => Effect.never).pipe(Scope.provide(scope))
      const client = yield* server.connection("client")
      yield* Effect.forkChild(client.request("get", "", 60_000))
      yield* settle
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust(1999)
      assert.isUndefined(closing.pollUnsafe())
      yield* TestClock.adjust(1)
      yield* Fiber.join(closing)
    }))

  it.effect("requests to a queue group are answered by one member each", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const answered: Array<string> = []
      for (const name of ["r1", "r2", "r3"]) {
        const replica = yield* server.connection(name)
        yield* replica.serve<never>("get", { queue: "replicas" }, (message) => {
          answered.push(name)
          return void message.respond(name)
        })
      }
      const client = yield* server.connection("client")
      const replies = yield* Effect.forEach(Array.from({ length: 30 }), () => client.request("get", "", 1000), {
        concurrency: "unbounded"
      })
      assert.strictEqual(answered.length, 30)
      assert.deepStrictEqual([...replies].sort(), [...answered].sort())
    }))

  it.effect("a responder's delayed replies arrive late: a short timeout gives up, a longer one gets the answer", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const leader = yield* server.connection("leader")
      let asked = 0
      yield* leader.serve<never>("mint", {}, (message) => {
        asked++
        return void message.respond("token")
      })
      yield* leader.delayReplies(300)
      const client = yield* server.connection("client")

      const impatient = yield* Effect.forkChild(reasonOf(client.request("mint", "", 250)))
      const patient = yield* Effect.forkChild(client.request("mint", "", 1000))
      yield* TestClock.adjust(250)
      assert.strictEqual(yield* Fiber.join(impatient), "timeout")
      assert.strictEqual(asked, 2, "the leader got both requests at once")
      yield* TestClock.adjust(49)
      assert.isUndefined(patient.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Fiber.join(patient), "token")

      yield* leader.delayReplies(0)
      assert.strictEqual(yield* client.request("mint", "", 1), "token")
    }))
})
