// A request the server refuses for want of a permission, through the real
// NatsConnection and nats.js, against a server that refuses as nats-server
// does (PermissionedNatsServer): a PUB to a denied subject, or the SUB of the
// reply inbox. Either is `not-permitted`, naming what was denied, not the
// `connection` failure an outage is; a permitted request is answered.
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { NatsConnection } from "../src/NatsConnection.ts"
import { type Denials, permissionedNatsServer } from "./support/PermissionedNatsServer.ts"

const denied = "tokenbus.token.billing.get"
const allowed = "tokenbus.token.tracking.get"

/** A connection to a server refusing `denials`, for the test's scope. */
const connectionTo = (denials: Denials) =>
  Effect.gen(function*() {
    const server = yield* permissionedNatsServer(denials)
    const context = yield* Layer.build(NatsConnection.layer({ servers: [server.url], name: "permission-test" }))
    return Context.get(context, NatsConnection)
  })

describe("a request the server refuses for want of a permission", () => {
  it.live("to publish on its subject fails at once with not-permitted, naming the subject; others are answered", () =>
    Effect.gen(function*() {
      const nats = yield* connectionTo({ publish: [denied], inboxes: false })
      assert.strictEqual(yield* nats.request(allowed, "ping", 2_000), "ping")

      const startedAt = Date.now()
      const error = yield* Effect.flip(nats.request(denied, "ping", 2_000))
      assert.isBelow(Date.now() - startedAt, 1_000, "it waited for the timeout")
      assert.strictEqual(error.reason, "not-permitted")
      assert.deepStrictEqual(error.denied, { operation: "publish", subject: denied })
      assert.include(error.message, `request on ${denied}: not-permitted (the NATS user may not publish to ${denied}`)
      assert.include(error.message, `Permissions Violation for Publish to "${denied}"`)
    }))

  it.live("to subscribe to its reply inbox fails with not-permitted, naming the inbox", () =>
    Effect.gen(function*() {
      const nats = yield* connectionTo({ publish: [], inboxes: true })
      const error = yield* Effect.flip(nats.request(allowed, "ping", 2_000))
      assert.strictEqual(error.reason, "not-permitted")
      assert.strictEqual(error.denied?.operation, "subscribe")
      assert.match(error.denied?.subject ?? "", /^_INBOX\.\S+\.\*$/)
      assert.include(error.message, `the NATS user may not subscribe to ${error.denied?.subject}, where the replies`)
    }))
})
