// The wait for a first connection (`waitOnFirstConnect`), against a server
// that accepts TCP connections and drops each one at once, as a port whose
// NATS is restarting does: the wait can be interrupted (a replica must stop on
// SIGTERM before NATS is up), and once it is, nats.js stops dialling, so an
// interrupted connect leaves nothing running behind it.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer } from "effect"
import { NatsConnection } from "../src/NatsConnection.ts"
import { droppingServer } from "./support/DroppingServer.ts"

describe("NatsConnection's first connection", () => {
  it.live("waiting for it can be interrupted, and no dial follows", () =>
    Effect.gen(function*() {
      const server = yield* droppingServer
      const layer = NatsConnection.layer({ servers: [server.url], name: "connect-test", waitOnFirstConnect: true })
      const fiber = yield* Effect.scoped(Layer.build(layer)).pipe(Effect.forkChild)
      // nats.js dials again every 250 ms: wait for a few refused attempts.
      while (server.accepted() < 3) yield* Effect.sleep(50)

      const startedAt = Date.now()
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      assert.isTrue(Exit.isFailure(exit) && Exit.hasInterrupts(exit), "the wait ended by the interruption")
      assert.isBelow(Date.now() - startedAt, 200)

      // The next attempt is where nats.js learns of it; after that, nothing more.
      yield* Effect.sleep(400)
      const settled = server.accepted()
      yield* Effect.sleep(1_000)
      assert.strictEqual(server.accepted(), settled, "nats.js kept dialling after the interruption")
    }))
})
