// A consumer allowed only some providers' subjects must be able to run the
// client: it subscribes to `<prefix>.token.<provider>.updates` for each
// provider it has asked for, never to the wildcard, and it does so before
// its first request leaves, so an update committed right after the reply is
// not missed. Under TestClock on the in-memory NATS.
import { assert, describe, it } from "@effect/vitest"
import { providerOf } from "@tokenbus/core"
import { makeMemoryNats } from "@tokenbus/nats/testing"
import { Effect } from "effect"
import {
  advance,
  broadcast,
  clientOn,
  okReply,
  PROVIDER,
  serveScripted,
  subjects,
  tokenOf
} from "./support/FakeReplica.ts"

const OTHER = "globex"

describe("TokenClient's subscriptions", () => {
  it.effect("subscribes to nothing until asked, then to the updates of each provider asked for only", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const replica = yield* nats.connection("replica")
      yield* serveScripted(replica, "get", (_, message) => okReply(tokenOf(1, { provider: providerOf(message.subject) })))
      const { client } = yield* clientOn(nats, "client")
      assert.strictEqual(yield* nats.interest(subjects.updates(PROVIDER)), 0)

      yield* client.getToken(PROVIDER)
      assert.strictEqual(yield* nats.interest(subjects.updates(PROVIDER)), 1)
      // No wildcard: another provider's updates reach nobody.
      assert.strictEqual(yield* nats.interest(subjects.updates(OTHER)), 0)
      yield* broadcast(replica, tokenOf(4, { provider: OTHER }))
      yield* advance(100)
      assert.isUndefined(client.peek(OTHER))

      // Asking again, or reporting a 401, subscribes nothing twice.
      yield* client.getToken(PROVIDER)
      yield* client.reportUnauthorized(tokenOf(1)).pipe(Effect.ignore, Effect.forkChild)
      yield* advance(100)
      assert.strictEqual(yield* nats.interest(subjects.updates(PROVIDER)), 1)

      yield* client.getToken(OTHER)
      assert.strictEqual(yield* nats.interest(subjects.updates(OTHER)), 1)
    }))

  it.effect("is subscribed before the first request reaches a replica, so an update sent with the reply is kept", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const replica = yield* nats.connection("replica")
      // The replica answers with version 1 and, at once, broadcasts version 2: a mint that committed meanwhile.
      const interestAtRequest: Array<number> = []
      yield* replica.serve<never>(subjects.anyGet, {}, (message) =>
        Effect.gen(function*() {
          interestAtRequest.push(yield* nats.interest(subjects.updates(PROVIDER)))
          message.respond(okReply(tokenOf(1)))
          yield* broadcast(replica, tokenOf(2)).pipe(Effect.orDie)
        }))
      const { client } = yield* clientOn(nats, "client")
      yield* client.getToken(PROVIDER)
      yield* advance(100)
      assert.deepStrictEqual(interestAtRequest, [1])
      assert.strictEqual(client.peek(PROVIDER)?.version, 2)
    }))

  it.effect("a report for a provider it never asked for subscribes to that provider's updates", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const replica = yield* nats.connection("replica")
      yield* serveScripted(replica, "unauthorized", () => okReply(tokenOf(2)))
      const { client } = yield* clientOn(nats, "client")
      assert.strictEqual((yield* client.reportUnauthorized(tokenOf(1))).version, 2)
      assert.strictEqual(yield* nats.interest(subjects.updates(PROVIDER)), 1)
      yield* broadcast(replica, tokenOf(3))
      yield* advance(100)
      assert.strictEqual(client.peek(PROVIDER)?.version, 3)
    }))
})
