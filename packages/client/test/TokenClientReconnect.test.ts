// A client cut off from NATS misses the broadcasts of that time for good (the
// server does not keep them): once reconnected it must ask again for what
// it holds. Under TestClock on the in-memory NATS, the replica side played
// by plain handlers answering with whatever token is current.
import { assert, describe, it } from "@effect/vitest"
import type { Token } from "@tokenbus/core"
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

/** A replica answering `get` with the current token of the provider asked for; the test moves them on. */
const replicaWith = (initial: ReadonlyArray<Token>) =>
  Effect.gen(function*() {
    const nats = yield* makeMemoryNats
    const current = new Map(initial.map((token) => [token.provider, token]))
    const connection = yield* nats.connection("replica")
    const replica = yield* serveScripted(connection, "get", (_, message) => {
      const token = current.get(message.subject.split(".")[2]!)
      return token === undefined ? undefined : okReply(token)
    })
    /** Commits `token` and broadcasts it, as a leader does. */
    const commit = (token: Token) =>
      Effect.sync(() => current.set(token.provider, token)).pipe(Effect.andThen(broadcast(connection, token)))
    return { nats, replica, commit }
  })

describe("TokenClient across a reconnect", () => {
  it.effect("fetches again every token it holds once reconnected, catching up on updates it missed", () =>
    Effect.gen(function*() {
      const { commit, nats, replica } = yield* replicaWith([tokenOf(1), tokenOf(1, { provider: OTHER })])
      const { client, connection } = yield* clientOn(nats, "client")
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      assert.strictEqual((yield* client.getToken(OTHER)).version, 1)

      yield* connection.disconnect
      yield* commit(tokenOf(2))
      yield* commit(tokenOf(5, { provider: OTHER }))
      yield* advance(1_000)
      // The broadcasts were lost on the way.
      assert.strictEqual(client.peek(PROVIDER)?.version, 1)

      yield* connection.reconnect
      yield* advance(100)
      assert.strictEqual(client.peek(PROVIDER)?.version, 2)
      assert.strictEqual(client.peek(OTHER)?.version, 5)
      assert.strictEqual(replica.received(), 4)
    }))

  it.effect("after the reconnect it follows the broadcast again, and a stale answer never replaces a newer token", () =>
    Effect.gen(function*() {
      const { commit, nats } = yield* replicaWith([tokenOf(1)])
      const { client, connection } = yield* clientOn(nats, "client")
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      yield* connection.disconnect
      yield* connection.reconnect
      yield* commit(tokenOf(7))
      yield* advance(100)
      assert.strictEqual(client.peek(PROVIDER)?.version, 7)
      // A broadcast older than what the client holds (a late or repeated one) changes nothing.
      yield* broadcast(yield* nats.connection("late-leader"), tokenOf(6))
      yield* advance(100)
      assert.strictEqual(client.peek(PROVIDER)?.version, 7)
    }))

  it.effect("a client that never held a token asks nothing on reconnecting", () =>
    Effect.gen(function*() {
      const { nats, replica } = yield* replicaWith([tokenOf(1)])
      const { connection } = yield* clientOn(nats, "client")
      yield* connection.disconnect
      yield* connection.reconnect
      yield* advance(100)
      assert.strictEqual(replica.received(), 0)
      assert.lengthOf(yield* nats.published(subjects.get(PROVIDER)), 0)
    }))
})
