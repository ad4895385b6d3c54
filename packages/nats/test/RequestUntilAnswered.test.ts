// A request to a responder that is changing hands (requestUntilAnswered), on
// the in-memory server under TestClock: a replica's question to a leader and
// an operator's `tokenbus reset` both go through it, and both must reach the
// next responder once it subscribes, not fail on the first "no responders".
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { requestUntilAnswered } from "../src/RequestUntilAnswered.ts"
import { makeMemoryNats } from "../src/testing/MemoryNats.ts"

const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

const pauses = { firstPauseMillis: 10, longestPauseMillis: 200 }

/** How many requests reached the server on `subject`. */
const requestsOn = (server: Effect.Success<typeof makeMemoryNats>, subject: string) =>
  Effect.map(server.published(subject), (messages) => messages.length)

describe("requestUntilAnswered", () => {
  it.effect("asks again after no responders, with doubling pauses, until a responder answers", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const client = yield* server.connection("client")
      const asked = yield* Effect.forkChild(requestUntilAnswered(client, "svc", "hi", { millis: 5_000, ...pauses }))
      // Attempts at 0, 10, 30, 70, 150 ms: five, each refused at once.
      for (const step of [0, 10, 20, 40, 80]) {
        yield* TestClock.adjust(step)
        yield* settle
      }
      assert.strictEqual(yield* requestsOn(server, "svc"), 5)
      assert.isUndefined(asked.pollUnsafe(), "it gave up while the deadline was far")
      const responder = yield* server.connection("leader")
      yield* responder.serve<never>("svc", {}, (message) => void message.respond(`re: ${message.string()}`))
      yield* TestClock.adjust(160)
      assert.strictEqual(yield* Fiber.join(asked), "re: hi")
      assert.strictEqual(yield* requestsOn(server, "svc"), 6)
    }))

  it.effect("gives up with no-responders once the next pause would pass the deadline", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const client = yield* server.connection("client")
      const asked = yield* Effect.forkChild(Effect.flip(
        requestUntilAnswered(client, "svc", "", { millis: 1_000, firstPauseMillis: 250, longestPauseMillis: 250 })
      ))
      yield* TestClock.adjust(1_000)
      const error = yield* Fiber.join(asked)
      assert.strictEqual(error.reason, "no-responders")
      // At 0, 250, 500 and 750 ms; the one at 1,000 would be past the deadline.
      assert.strictEqual(yield* requestsOn(server, "svc"), 4)
    }))

  it.effect("with attemptMillis, an unanswered attempt is sent again; without, one attempt waits it all", () =>
    Effect.gen(function*() {
      const server = yield* makeMemoryNats
      const silent = yield* server.connection("silent")
      yield* silent.serve<never>("svc", {}, () => undefined)
      const client = yield* server.connection("client")
      const retried = yield* Effect.forkChild(Effect.flip(
        requestUntilAnswered(client, "svc", "", { millis: 1_000, attemptMillis: 250, ...pauses })
      ))
      yield* TestClock.adjust(1_000)
      assert.strictEqual((yield* Fiber.join(retried)).reason, "timeout")
      assert.strictEqual(yield* requestsOn(server, "svc"), 4)

      const once = yield* Effect.forkChild(Effect.flip(requestUntilAnswered(client, "svc", "", { millis: 1_000, ...pauses })))
      yield* TestClock.adjust(1_000)
      assert.strictEqual((yield* Fiber.join(once)).reason, "timeout")
      assert.strictEqual(yield* requestsOn(server, "svc"), 5)
    }))
})
