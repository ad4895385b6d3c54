/**
 * One client of the in-memory server, put together: requests
 * (MemoryRequest.ts), subscriptions (MemorySubscription.ts), KV
 * (ConnectionBuckets.ts), and the faults a test injects into this client.
 *
 * As with nats.js, `respond` sends to the message's reply subject and returns
 * false only when there is none, and what a disconnected client sends is
 * lost (nats.js buffers it and discards the buffer when it reconnects): its
 * publishes succeed and reach nobody. Closed is final and fails everything.
 */
import type { Payload } from "@nats-io/transport-node"
import { Deferred, Effect, FiberSet, Layer, PubSub, Stream } from "effect"
import { serveWith } from "../../internal/Serve.ts"
import { type BucketOptions, type InboundMessage, NatsConnection } from "../../NatsConnection.ts"
import { NatsPublishError } from "../../NatsError.ts"
import type { MemoryKvStore } from "../MemoryKvBucket.ts"
import type { MemoryNatsConnection } from "../MemoryNatsConnection.ts"
import { type ClientLink, makeClientLink } from "./ClientLink.ts"
import { makeConnectionBuckets } from "./ConnectionBuckets.ts"
import { requestVia } from "./MemoryRequest.ts"
import { subscribeOn } from "./MemorySubscription.ts"
import type { Delivery, Router } from "./Router.ts"
import { publishTokens } from "./SubjectPattern.ts"

export interface ConnectionContext {
  readonly router: Router
  readonly store: (name: string, options: BucketOptions) => Effect.Effect<MemoryKvStore>
  readonly name: string
  /** Makes this client's inboxes unique on the server. */
  readonly clientId: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const empty = new Uint8Array(0)

const bytesOf = (payload: Payload): Uint8Array =>
  typeof payload === "string" ? encoder.encode(payload) : payload.slice()

const publishVia = (link: ClientLink) => (subject: string, payload: string): Effect.Effect<void, NatsPublishError> =>
  Effect.suspend(() => {
    const failure = (detail: string) =>
      new NatsPublishError({ subject, message: `publish on ${subject} failed: ${detail}` })
    if (link.closed()) return Effect.fail(failure("the connection is closed"))
    if (publishTokens(subject) === undefined) return Effect.fail(failure(`invalid subject "${subject}"`))
    if (link.connected()) link.router.route(link.name, subject, encoder.encode(payload), "")
    return Effect.void
  })

export const makeMemoryConnection = Effect.fnUntraced(function*(context: ConnectionContext) {
  const link = yield* makeClientLink(context.router, context.name, context.clientId)
  const buckets = yield* makeConnectionBuckets(context.store)
  const delayed = yield* FiberSet.runtime(yield* FiberSet.make<void, never>())<never>()
  const reconnected = yield* PubSub.unbounded<void>()
  let replyDelayMillis = 0

  const respond = (reply: string, payload: Payload): boolean => {
    if (reply.length === 0 || link.closed()) return false
    if (!link.connected()) return true
    const data = bytesOf(payload)
    const send = () => void link.router.route(link.name, reply, data, "")
    if (replyDelayMillis === 0) send()
    else delayed(Effect.andThen(Effect.sleep(replyDelayMillis), Effect.sync(send)))
    return true
  }

  const toMessage = (delivery: Delivery): InboundMessage => ({
    subject: delivery.subject,
    data: delivery.data,
    reply: delivery.reply,
    string: () => decoder.decode(delivery.data),
    respond: (payload = empty) => respond(delivery.reply, payload)
  })

  const subscribe = (subject: string, queue: string | undefined, onMessage: (message: InboundMessage) => void) =>
    subscribeOn(link.router, { subject, queue, live: link.live, toMessage, onMessage })

  const close = Effect.andThen(Deferred.succeed(link.closing, undefined), buckets.close)
  yield* Effect.addFinalizer(() => close)

  const service: NatsConnection["Service"] = {
    request: requestVia(link),
    publish: publishVia(link),
    subscribe: (subject, { queue }, onMessage) => subscribe(subject, queue, onMessage),
    serve: (subject, { queue }, handle) => serveWith((onMessage) => subscribe(subject, queue, onMessage), handle),
    bucket: buckets.bucket,
    reconnects: Stream.fromPubSub(reconnected),
    connected: Effect.sync(link.live),
    // No `$SRV` subjects in memory: the endpoints alone, each on its subject.
    addService: (options) =>
      Effect.forEach(options.endpoints, (endpoint) =>
        subscribe(endpoint.subject, endpoint.queue ?? "q", (message) => void message.respond(endpoint.handle(message)))
      ).pipe(Effect.asVoid)
  }
  const linkUp = (connected: boolean) =>
    Effect.suspend(() => {
      if (link.connected() === connected || link.closed()) return Effect.void
      link.setConnected(connected)
      return buckets.partition(!connected).pipe(
        Effect.andThen(connected ? PubSub.publish(reconnected, undefined) : Effect.void),
        Effect.asVoid
      )
    })
  const connection: MemoryNatsConnection = {
    ...service,
    name: context.name,
    bucket: buckets.bucket,
    layer: Layer.succeed(NatsConnection, service),
    disconnect: linkUp(false),
    reconnect: linkUp(true),
    close,
    delayReplies: (millis) =>
      Effect.sync(() => {
        replyDelayMillis = millis
      })
  }
  return connection
})
