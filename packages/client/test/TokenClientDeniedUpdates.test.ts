// A consumer whose NATS user may not subscribe to a provider's updates would
// hold a token it never hears is replaced. Against a fake NATS server that
// refuses that SUB with nats-server's `-ERR 'Permissions Violation ...'`
// line, through the real NatsConnection and nats.js: the request for the
// provider fails with NotPermitted naming the updates subject, a bounded
// warning names it too, asking again within retryDeniedMillis fails at once
// without subscribing (under TestClock), so a flood of requests leaves the
// client holding nothing more (SUBs the server saw, subscriptions whose
// release the client's scopes still hold), asking after it tries the
// subscription again, and a
// provider whose updates are allowed is answered and followed as before.
import { assert, describe, it } from "@effect/vitest"
import { providerOf } from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { fakeNatsServer } from "@tokenbus/nats/testing"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { deniedUpdatesMessage, retryDeniedMillis } from "../src/internal/ProviderUpdates.ts"
import { TokenClient } from "../src/TokenClient.ts"
import { capturingLogs, type Line } from "./support/CapturedLogs.ts"
import { encodedUpdate, okReply, PROVIDER, prefix, subjects, tokenOf } from "./support/FakeReplica.ts"

const DENIED = "billing"

/**
 * A client on a server that answers every request with version 1 and, while
 * `denying()`, refuses the SUB to DENIED's updates (and any PUB to `denyPublish`).
 */
/**
 * The real connection, counting the subscriptions whose release is still
 * pending in some scope: what the client holds until it closes.
 */
const counting = (held: { subscriptions: number }) =>
  Layer.effect(
    NatsConnection,
    Effect.gen(function*() {
      const nats = yield* NatsConnection
      const subscribe: NatsConnection["Service"]["subscribe"] = (subject, options, onMessage) =>
        nats.subscribe(subject, options, onMessage).pipe(
          Effect.andThen(Effect.sync(() => void held.subscriptions++)),
          Effect.andThen(Effect.addFinalizer(() => Effect.sync(() => void held.subscriptions--)))
        )
      return { ...nats, subscribe }
    })
  )

const deniedClient = (denying: () => boolean = () => true, denyPublish: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const server = yield* fakeNatsServer({
      answer: (subject) => okReply(tokenOf(1, { provider: providerOf(subject) })),
      denyPublish,
      denySubscribe: (subject) => denying() && subject === subjects.updates(DENIED)
    })
    const held = { subscriptions: 0 }
    const nats = counting(held).pipe(
      Layer.provide(NatsConnection.layer({ servers: [server.url], name: "denied-updates-test" }))
    )
    const context = yield* Layer.build(TokenClient.layer({ prefix }).pipe(Layer.provide(nats)))
    return { server, held, client: Context.get(context, TokenClient) }
  })

const deniedSubscribes = (server: { readonly subscribed: () => ReadonlyArray<string> }) =>
  server.subscribed().filter((subject) => subject === subjects.updates(DENIED)).length

const deniedWarnings = (lines: ReadonlyArray<Line>) => lines.filter((line) => line.message === deniedUpdatesMessage)

describe("a subscription to a provider's updates that NATS refuses", () => {
  it.live("fails the request with NotPermitted naming the updates subject, with a warning naming it", () => {
    const lines: Array<Line> = []
    return capturingLogs(
      lines,
      Effect.gen(function*() {
        const { client, server } = yield* deniedClient()
        const error = yield* Effect.flip(client.getToken(DENIED))
        assert.strictEqual(error._tag, "NotPermitted")
        if (error._tag !== "NotPermitted") return
        const subject = subjects.updates(DENIED)
        assert.deepStrictEqual([error.provider, error.operation, error.subject], [DENIED, "subscribe", subject])
        assert.include(error.message, `lacks the subscribe permission for ${subject}`)
        assert.notInclude(error.message, "inbox")
        assert.deepStrictEqual(server.requests(), [subjects.get(DENIED)], "asked once")

        const warnings = deniedWarnings(lines)
        assert.strictEqual(warnings.length, 1)
        assert.deepInclude(warnings[0]?.annotations, { subject, provider: DENIED, refusals: 1 })
        assert.isUndefined(client.peek(DENIED), "a token it cannot keep current was handed out")
      })
    )
  })

  it.effect("fails again at once until retryDeniedMillis pass, holding nothing more however often it is asked", () => {
    const lines: Array<Line> = []
    return capturingLogs(
      lines,
      Effect.gen(function*() {
        const { client, held, server } = yield* deniedClient()
        yield* Effect.flip(client.getToken(DENIED))
        assert.strictEqual(held.subscriptions, 0, "a refused subscription is still held")
        for (let i = 0; i < 50; i++) {
          const again = yield* Effect.flip(client.getToken(DENIED))
          assert.deepStrictEqual([again._tag, "subject" in again ? again.subject : ""], [
            "NotPermitted",
            subjects.updates(DENIED)
          ])
        }
        const report = yield* Effect.flip(client.reportUnauthorized(tokenOf(1, { provider: DENIED })))
        assert.deepStrictEqual([report._tag, "subject" in report ? report.subject : ""], [
          "NotPermitted",
          subjects.updates(DENIED)
        ])
        assert.strictEqual(deniedSubscribes(server), 1, "subscribed again within the interval")
        assert.deepStrictEqual(server.requests(), [subjects.get(DENIED)], "asked again within the interval")
        assert.strictEqual(held.subscriptions, 0, "the client holds more with every refused request")
        // Refusals within one warning period: one line at once, the rest counted for the next.
        assert.strictEqual(deniedWarnings(lines).length, 1)

        // Past the interval, each request subscribes once more; what a refused attempt held is released.
        for (let round = 1; round <= 5; round++) {
          yield* TestClock.adjust(retryDeniedMillis)
          const error = yield* Effect.flip(client.getToken(DENIED))
          assert.strictEqual(error._tag, "NotPermitted")
          assert.strictEqual(deniedSubscribes(server), 1 + round, "not subscribed again after the interval")
          assert.strictEqual(held.subscriptions, 0, "a refused attempt's subscription is still held")
        }
        assert.strictEqual(server.requests().length, 6)
      })
    )
  })

  it.effect("once NATS allows the subscription, the first request after the interval is answered and kept", () =>
    Effect.gen(function*() {
      let denying = true
      const { client, held, server } = yield* deniedClient(() => denying)
      yield* Effect.flip(client.getToken(DENIED))
      denying = false
      assert.strictEqual((yield* Effect.flip(client.getToken(DENIED)))._tag, "NotPermitted", "retried too soon")
      yield* TestClock.adjust(retryDeniedMillis)
      assert.strictEqual((yield* client.getToken(DENIED)).version, 1)
      assert.strictEqual(client.peek(DENIED)?.version, 1)
      assert.strictEqual(deniedSubscribes(server), 2)
      assert.strictEqual(held.subscriptions, 1, "the allowed subscription is not kept")
    }))

  it.live("when the request is refused too (a provider not allowed at all), fails naming the request's subject", () =>
    Effect.gen(function*() {
      const { client } = yield* deniedClient(() => true, [subjects.get(DENIED)])
      const error = yield* Effect.flip(client.getToken(DENIED))
      const subject = subjects.get(DENIED)
      assert.deepStrictEqual([error._tag, "subject" in error ? error.subject : ""], ["NotPermitted", subject])
      assert.include(error.message, `lacks the publish permission for ${subject}`)
    }))

  it.live("leaves another provider, whose updates are allowed, answered and followed", () =>
    Effect.gen(function*() {
      const { client, server } = yield* deniedClient()
      yield* Effect.flip(client.getToken(DENIED))
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      server.publish(subjects.updates(PROVIDER), encodedUpdate(tokenOf(2)))
      for (let waited = 0; client.peek(PROVIDER)?.version !== 2 && waited < 2_000; waited += 20) {
        yield* Effect.sleep(20)
      }
      assert.strictEqual(client.peek(PROVIDER)?.version, 2, "the allowed provider's update was not kept")
    }))
})
