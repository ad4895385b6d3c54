// What the client does when a request gets no answer in time, under TestClock
// on the in-memory NATS, with the replica side played by plain handlers: a
// request lost with a killed replica is sent once more, a replica still
// waiting for its leader is given the time to say so, and "nobody there" is
// told at once.
import { assert, describe, it } from "@effect/vitest"
import { TokenUnavailable } from "@tokenbus/core"
import { makeMemoryNats } from "@tokenbus/nats/testing"
import { Effect, Fiber } from "effect"
import {
  advance,
  clientOn,
  errorReply,
  okReply,
  PROVIDER,
  requestsOn,
  serveScripted,
  subjects,
  tokenOf
} from "./support/FakeReplica.ts"

/** The service's default `requestTimeoutMillis`: how long a replica waits for its leader. */
const replicaTimeoutMillis = 5_000

describe("TokenClient under lost and slow replies", () => {
  it.effect("a get lost with the replica that took it is sent again, and the next replica's token returned", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      // The first request dies with the replica that received it; the queue group gives the retry to another.
      const replica = yield* serveScripted(yield* nats.connection("replica"), "get", (n) =>
        n === 1 ? undefined : okReply(tokenOf(3)))
      const { client } = yield* clientOn(nats, "client")
      const fiber = yield* Effect.forkChild(client.getToken(PROVIDER))
      yield* advance(30_000)
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(token.version, 3)
      assert.strictEqual(replica.received(), 2)
      assert.strictEqual(yield* requestsOn(nats, subjects.get(PROVIDER)), 2)
    }))

  it.effect("a 401 report lost with its replica is sent again", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const replica = yield* serveScripted(yield* nats.connection("replica"), "unauthorized", (n) =>
        n === 1 ? undefined : okReply(tokenOf(4)))
      const { client } = yield* clientOn(nats, "client")
      const fiber = yield* Effect.forkChild(client.reportUnauthorized(tokenOf(3)))
      yield* advance(30_000)
      assert.strictEqual((yield* Fiber.join(fiber)).version, 4)
      assert.strictEqual(replica.received(), 2)
    }))

  it.effect("it retries once only: two lost requests fail with ServiceUnavailable", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const replica = yield* serveScripted(yield* nats.connection("replica"), "get", () => undefined)
      const { client } = yield* clientOn(nats, "client", { requestTimeoutMillis: 1_000 })
      // Flipped: a token (no failure) fails the test.
      const fiber = yield* Effect.forkChild(Effect.flip(client.getToken(PROVIDER)))
      yield* advance(1_900)
      assert.isUndefined(fiber.pollUnsafe(), "gave up before the second attempt timed out")
      yield* advance(200)
      assert.strictEqual((yield* Fiber.join(fiber))._tag, "ServiceUnavailable")
      yield* advance(30_000)
      assert.strictEqual(replica.received(), 2)
    }))

  it.effect("no responders is not retried: it fails with ServiceUnavailable at once", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const { client } = yield* clientOn(nats, "client")
      const error = yield* Effect.flip(client.getToken(PROVIDER))
      assert.strictEqual(error._tag, "ServiceUnavailable")
      assert.strictEqual(yield* requestsOn(nats, subjects.get(PROVIDER)), 1)
    }))

  it.effect("by default it outlasts the replica's own timeout, so the replica's TokenUnavailable arrives", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const connection = yield* nats.connection("replica")
      // A replica that asked its leader for the whole of its request timeout, then said so.
      yield* connection.delayReplies(replicaTimeoutMillis + 500)
      const unavailable = new TokenUnavailable({ provider: PROVIDER, message: "no leader answered within 5000 ms" })
      const replica = yield* serveScripted(connection, "get", () => errorReply(unavailable))
      const { client } = yield* clientOn(nats, "client")
      const fiber = yield* Effect.forkChild(Effect.flip(client.getToken(PROVIDER)))
      yield* advance(replicaTimeoutMillis + 600)
      assert.strictEqual((yield* Fiber.join(fiber))._tag, "TokenUnavailable")
      assert.strictEqual(replica.received(), 1)
    }))
})
