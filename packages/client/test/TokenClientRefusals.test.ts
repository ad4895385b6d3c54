// What the client makes of a request NATS refused for want of a permission,
// and of an error reply too big to pass on, on the in-memory NATS under
// TestClock. The refusal comes as @tokenbus/nats reports it (a
// `NatsRequestError` with reason `not-permitted` and what was denied; its
// classification of nats.js's errors is tested in packages/nats): the client
// fails with `NotPermitted`, at once, asking once, naming the permission and
// the subject, not `ServiceUnavailable`. An error reply from the bus reaches
// the caller cut to a bounded size, whatever its sender put in it.
import { assert, describe, it } from "@effect/vitest"
import { ProviderNotFound, TokenUnavailable } from "@tokenbus/core"
import { NatsConnection, NatsRequestError } from "@tokenbus/nats"
import { makeMemoryNats } from "@tokenbus/nats/testing"
import { Context, Effect, Layer } from "effect"
import { maxErrorMessageChars } from "../src/internal/BoundedError.ts"
import { TokenClient } from "../src/TokenClient.ts"
import { clientOn, errorReply, PROVIDER, prefix, serveScripted, subjects, tokenOf } from "./support/FakeReplica.ts"

type Denied = NonNullable<NatsRequestError["denied"]>

/**
 * A client whose connection refuses every request on `subject` as a server
 * whose user lacks the permission `denied` does; it counts the requests sent there.
 */
const refusedClient = (subject: string, denied: Denied) =>
  Effect.gen(function*() {
    const nats = yield* makeMemoryNats
    const connection = yield* nats.connection("client")
    const real = Context.get(yield* Layer.build(connection.layer), NatsConnection)
    let asked = 0
    const refusing = NatsConnection.of({
      ...real,
      request: (to, payload, timeoutMillis) => {
        if (to !== subject) return real.request(to, payload, timeoutMillis)
        asked += 1
        const message = `request on ${to}: not-permitted (Permissions Violation)`
        return Effect.fail(new NatsRequestError({ subject: to, reason: "not-permitted", denied, message }))
      }
    })
    const layer = TokenClient.layer({ prefix }).pipe(Layer.provide(Layer.succeed(NatsConnection, refusing)))
    return { client: Context.get(yield* Layer.build(layer), TokenClient), asked: () => asked }
  })

describe("a request NATS refuses for want of a permission", () => {
  it.effect("to publish a get for a provider fails with NotPermitted at once, naming the permission and subject", () =>
    Effect.gen(function*() {
      const subject = subjects.get("billing")
      const { asked, client } = yield* refusedClient(subject, { operation: "publish", subject })
      const error = yield* Effect.flip(client.getToken("billing"))
      assert.strictEqual(error._tag, "NotPermitted")
      if (error._tag !== "NotPermitted") return
      assert.deepStrictEqual([error.provider, error.operation, error.subject], ["billing", "publish", subject])
      assert.include(error.message, `lacks the publish permission for ${subject}`)
      assert.notInclude(error.message, "did not answer")
      assert.strictEqual(asked(), 1, "a refused request was sent again")
    }))

  it.effect("to subscribe to its reply inbox fails a 401 report with NotPermitted, naming the inbox", () =>
    Effect.gen(function*() {
      const inbox = "_INBOX.client.*"
      const denied = { operation: "subscribe", subject: inbox } as const
      const { client } = yield* refusedClient(subjects.unauthorized(PROVIDER), denied)
      const error = yield* Effect.flip(client.reportUnauthorized(tokenOf(3)))
      assert.strictEqual(error._tag, "NotPermitted")
      if (error._tag !== "NotPermitted") return
      assert.strictEqual(error.operation, "subscribe")
      assert.include(error.message, `lacks the subscribe permission for ${inbox}, where the replies`)
    }))
})

describe("an error reply from the bus", () => {
  const answeredWith = (reply: string) =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      yield* serveScripted(yield* nats.connection("replica"), "get", () => reply)
      const { client } = yield* clientOn(nats, "client")
      return yield* Effect.flip(client.getToken(PROVIDER))
    })

  it.effect("with a megabyte message reaches the caller cut to the bound, its start kept", () =>
    Effect.gen(function*() {
      const message = `upstream down ${"x".repeat(1_000_000)}`
      const error = yield* answeredWith(errorReply(new TokenUnavailable({ provider: PROVIDER, message })))
      assert.strictEqual(error._tag, "TokenUnavailable")
      assert.isBelow(error.message.length, maxErrorMessageChars + 100)
      assert.isTrue(error.message.startsWith(message.slice(0, maxErrorMessageChars)))
    }))

  it.effect("with a megabyte provider id has it cut too; an ordinary reply is passed on as sent", () =>
    Effect.gen(function*() {
      const huge = new ProviderNotFound({ provider: "p".repeat(1_000_000), message: "no" })
      const forged = yield* answeredWith(errorReply(huge))
      assert.strictEqual(forged._tag, "ProviderNotFound")
      if (forged._tag === "ProviderNotFound") assert.isBelow(forged.provider.length, 400)
      const usual = new TokenUnavailable({ provider: PROVIDER, message: "no leader yet" })
      const ordinary = yield* answeredWith(errorReply(usual))
      assert.deepStrictEqual([ordinary._tag, ordinary.message], ["TokenUnavailable", "no leader yet"])
    }))
})
