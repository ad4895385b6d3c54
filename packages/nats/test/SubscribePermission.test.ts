// A subscription the server refuses for want of a permission, through the
// real NatsConnection and nats.js, against a server that refuses as
// nats-server does (FakeNatsServer): the refusal comes after `subscribe` has
// returned, and `onDenied` is told what was denied; a permitted subscription
// on the same connection receives its messages, and says nothing.
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { NatsConnection } from "../src/NatsConnection.ts"
import type { NatsDenied } from "../src/NatsError.ts"
import { fakeNatsServer } from "../src/testing/FakeNatsServer.ts"

const denied = "tokenbus.token.billing.updates"
const allowed = "tokenbus.token.tracking.updates"

describe("a subscription the server refuses", () => {
  it.live("is told to onDenied, naming the subject; a permitted one on the connection still receives", () =>
    Effect.gen(function*() {
      const server = yield* fakeNatsServer({ denySubscribe: (subject) => subject === denied })
      const context = yield* Layer.build(NatsConnection.layer({ servers: [server.url], name: "subscribe-test" }))
      const nats = Context.get(context, NatsConnection)
      const refusals: Array<[string, NatsDenied]> = []
      const received: Array<string> = []
      for (const subject of [denied, allowed]) {
        yield* nats.subscribe(subject, { onDenied: (what) => refusals.push([subject, what]) }, (message) => {
          received.push(`${message.subject} ${message.string()}`)
        })
      }
      // A request after the SUBs: its answer comes after the server's refusal, as on a real server.
      assert.strictEqual(yield* nats.request("tokenbus.token.tracking.get", "ping", 2_000), "ping")
      assert.deepStrictEqual(refusals, [[denied, { operation: "subscribe", subject: denied }]])

      server.publish(allowed, "v2")
      server.publish(denied, "v2")
      for (let waited = 0; received.length === 0 && waited < 2_000; waited += 20) yield* Effect.sleep(20)
      yield* Effect.sleep(50)
      assert.deepStrictEqual(received, [`${allowed} v2`])
      assert.strictEqual(refusals.length, 1)
    }))
})
