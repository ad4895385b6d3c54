// The service's side of the wire, played by the test on the in-memory NATS
// of @tokenbus/nats/testing: `serve` handlers in the replicas' queue group
// that answer `get` and `unauthorized` as the test scripts them, broadcasts
// of tokens, and a client built on a connection the test can cut off.
import {
  makeSubjects,
  type ProtocolError,
  protocolVersion,
  replicaQueue,
  Token,
  TokenReplyJson,
  TokenUpdateJson
} from "@tokenbus/core"
import type { InboundMessage } from "@tokenbus/nats"
import { makeMemoryNats, type MemoryNats, type MemoryNatsConnection } from "@tokenbus/nats/testing"
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { TestClock } from "effect/testing"
import { TokenClient } from "../../src/TokenClient.ts"
import type { TokenClientOptions } from "../../src/TokenClientOptions.ts"

export const PROVIDER = "acme"
export const prefix = "tb"
export const subjects = makeSubjects(prefix)

const encodeReply = Schema.encodeSync(TokenReplyJson)
const encodeUpdate = Schema.encodeSync(TokenUpdateJson)

export const tokenOf = (
  version: number,
  options: { readonly provider?: string; readonly expiresAt?: number } = {}
): Token =>
  new Token({
    provider: options.provider ?? PROVIDER,
    version,
    accessToken: Redacted.make(`secret-${version}`),
    tokenType: "Bearer",
    issuedAt: 0,
    reason: "initial",
    ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt })
  })

export const okReply = (token: Token): string => encodeReply({ v: protocolVersion, ok: true, token })
export const errorReply = (error: ProtocolError): string => encodeReply({ v: protocolVersion, ok: false, error })

/** What a scripted replica does with the n-th request it receives (1-based): a reply to send, or nothing. */
export type Script = (n: number, message: InboundMessage) => string | undefined

/**
 * Answers `verb` requests for every provider on `connection`, in the
 * replicas' queue group, as `script` says; returns how many it received.
 */
export const serveScripted = (connection: MemoryNatsConnection, verb: "get" | "unauthorized", script: Script) =>
  Effect.gen(function*() {
    let received = 0
    const subject = verb === "get" ? subjects.anyGet : subjects.anyUnauthorized
    yield* connection.serve<never>(subject, { queue: replicaQueue }, (message) => {
      const reply = script(++received, message)
      if (reply !== undefined) message.respond(reply)
      return undefined
    })
    return { received: () => received }
  })

/** An unsigned update of `token`, as a leader without a signing key broadcasts it. */
export const encodedUpdate = (token: Token): string => encodeUpdate({ v: protocolVersion, token })

/** A replica on a new in-memory NATS answering every `get` with `reply(n)`, and its connection to publish from. */
export const replicaAnswering = (reply: (n: number) => string) =>
  Effect.gen(function*() {
    const nats = yield* makeMemoryNats
    const connection = yield* nats.connection("replica")
    yield* serveScripted(connection, "get", (n) => reply(n))
    return { nats, connection }
  })

/** Broadcasts `token` as the provider's leader does. */
export const broadcast = (connection: MemoryNatsConnection, token: Token) =>
  connection.publish(subjects.updates(token.provider), encodedUpdate(token))

/** A `TokenClient` on its own connection of `nats`, living as long as the test's scope. */
export const clientOn = (nats: MemoryNats, name: string, options: TokenClientOptions = {}) =>
  Effect.gen(function*() {
    const connection = yield* nats.connection(name)
    const context = yield* Layer.build(TokenClient.layer({ prefix, ...options }).pipe(Layer.provide(connection.layer)))
    return { connection, client: Context.get(context, TokenClient) }
  })

/** How many requests reached the server on `subject`. */
export const requestsOn = (nats: MemoryNats, subject: string) =>
  Effect.map(nats.published(subject), (messages) => messages.filter((message) => message.reply !== "").length)

/** Moves the test clock in small steps, so fibers woken on the way run before time moves on. */
export const advance = (millis: number, step = 50) =>
  Effect.gen(function*() {
    for (let passed = 0; passed < millis; passed += step) {
      yield* TestClock.adjust(Math.min(step, millis - passed))
      yield* Effect.yieldNow
    }
  })
