// A token past its `expiresAt` is not the current one, whatever the client's
// memory says: `peek` no longer returns it and `getToken` asks the service
// instead. Under TestClock on the in-memory NATS, the replica side played by
// plain handlers.
import { assert, describe, it } from "@effect/vitest"
import { makeMemoryNats } from "@tokenbus/nats/testing"
import { Effect } from "effect"
import {
  advance,
  broadcast,
  clientOn,
  okReply,
  PROVIDER,
  requestsOn,
  serveScripted,
  subjects,
  tokenOf
} from "./support/FakeReplica.ts"

const lifetimeMillis = 60_000

describe("TokenClient and expired tokens", () => {
  it.effect("peek stops returning a token at its expiresAt", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      yield* serveScripted(yield* nats.connection("replica"), "get", () =>
        okReply(tokenOf(1, { expiresAt: lifetimeMillis })))
      const { client } = yield* clientOn(nats, "client")
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      yield* advance(lifetimeMillis - 1, 1_000)
      assert.strictEqual(client.peek(PROVIDER)?.version, 1)
      yield* advance(1)
      assert.isUndefined(client.peek(PROVIDER))
    }))

  it.effect("getToken asks the service for a held token that has expired, and returns the service's", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      let current = tokenOf(1, { expiresAt: lifetimeMillis })
      yield* serveScripted(yield* nats.connection("replica"), "get", () => okReply(current))
      const { client } = yield* clientOn(nats, "client")
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      // The leader renewed while this client was not listening.
      current = tokenOf(2, { expiresAt: 2 * lifetimeMillis })
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1, "served from memory while it is valid")
      yield* advance(lifetimeMillis, 1_000)
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 2)
      assert.strictEqual(client.peek(PROVIDER)?.version, 2)
      assert.strictEqual(yield* requestsOn(nats, subjects.get(PROVIDER)), 2)
    }))

  it.effect("with the service unreachable, an expired token fails with ServiceUnavailable, not served", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const replica = yield* nats.connection("replica")
      yield* serveScripted(replica, "get", () => okReply(tokenOf(1, { expiresAt: lifetimeMillis })))
      const { client } = yield* clientOn(nats, "client")
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      yield* replica.close
      yield* advance(lifetimeMillis, 1_000)
      const error = yield* Effect.flip(client.getToken(PROVIDER))
      assert.strictEqual(error._tag, "ServiceUnavailable")
      assert.include(error.message, "expired")
    }))

  it.effect("reportUnauthorized does not hand back an expired token as the one to use next", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      yield* serveScripted(yield* nats.connection("replica"), "get", () =>
        okReply(tokenOf(2, { expiresAt: lifetimeMillis })))
      yield* serveScripted(yield* nats.connection("replica-2"), "unauthorized", () => okReply(tokenOf(3)))
      const { client } = yield* clientOn(nats, "client")
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 2)
      yield* advance(lifetimeMillis, 1_000)
      assert.strictEqual((yield* client.reportUnauthorized(tokenOf(1))).version, 3)
    }))

  it.effect("an expired token the service confirms is returned by getToken, then from memory, never by peek", () =>
    Effect.gen(function*() {
      // A provider renewed only on 401 whose token nobody used since it expired: the
      // consumer's 401 and the report that follows are how it gets the next one.
      const nats = yield* makeMemoryNats
      let current = tokenOf(1, { expiresAt: lifetimeMillis })
      const replica = yield* serveScripted(yield* nats.connection("replica"), "get", () => okReply(current))
      const { client } = yield* clientOn(nats, "client")
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      yield* advance(lifetimeMillis, 1_000)
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      assert.strictEqual(replica.received(), 2)
      // Confirmed by the service: no request per call while it stays the current one.
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      assert.strictEqual(replica.received(), 2)
      assert.isUndefined(client.peek(PROVIDER))
      // A newer token that has expired too is asked about again.
      current = tokenOf(2, { expiresAt: lifetimeMillis })
      yield* broadcast(yield* nats.connection("leader"), current)
      yield* advance(100)
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 2)
      assert.strictEqual(replica.received(), 3)
    }))

  it.effect("a token without expiresAt is served from memory however old it is", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const replica = yield* serveScripted(yield* nats.connection("replica"), "get", () => okReply(tokenOf(1)))
      const { client } = yield* clientOn(nats, "client")
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      yield* advance(365 * 24 * 3_600_000, 30 * 24 * 3_600_000)
      assert.strictEqual(client.peek(PROVIDER)?.version, 1)
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      assert.strictEqual(replica.received(), 1)
    }))
})
