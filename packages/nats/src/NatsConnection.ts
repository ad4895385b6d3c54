/**
 * The one place tokenbus talks to nats.js. A scoped connection (drained when
 * its scope closes) with request/reply, publish, queue subscriptions and KV
 * buckets; every nats.js rejection becomes a typed error from NatsError.ts.
 */
import { access, constants } from "node:fs/promises"
import { connect, type Msg, type NatsConnection as RawConnection } from "@nats-io/transport-node"
import { Context, Effect, Layer, PubSub, type Scope, Stream } from "effect"
import { addService } from "./internal/AddService.ts"
import { authConnectOptions, authProblem } from "./internal/AuthOptions.ts"
import { connectFailure, shownServers } from "./internal/ConnectFailure.ts"
import { waitForFirstConnect } from "./internal/FirstConnect.ts"
import { type BucketOptions, openBucket } from "./internal/OpenBucket.ts"
import { deniedOf, requestError } from "./internal/RequestFailure.ts"
import { drainMillis, serveWith } from "./internal/Serve.ts"
import type { KvBucket } from "./KvBucket.ts"
import type { MicroServiceOptions } from "./MicroService.ts"
import { type NatsAuth, type NatsTls, natsTlsProblem } from "./NatsAuth.ts"
import {
  KvError,
  NatsConnectError,
  type NatsDenied,
  NatsPublishError,
  type NatsRequestError,
  type NatsServiceError
} from "./NatsError.ts"

export interface NatsConnectionOptions {
  readonly servers: ReadonlyArray<string>
  /** Shown by the server in connection listings (`nats server report connections`). */
  readonly name: string
  /**
   * Keep trying until a server answers instead of failing at once: right for a
   * service started beside NATS, wrong for a command a person waits on. Each
   * failed attempt is logged (a warning at a bounded rate); a credential or TLS
   * setting the server refuses twice in a row ends the wait (FirstConnect.ts).
   */
  readonly waitOnFirstConnect?: boolean
  /** The credential a server that asks for one gets. */
  readonly auth?: NatsAuth | undefined
  /** Given, the connection must be TLS (see `NatsTls`). */
  readonly tls?: NatsTls | undefined
  /**
   * The prefix of the subjects replies to this connection's requests come back on (nats.js's default
   * `_INBOX`). A user given a prefix of its own, and permission to subscribe under it alone, cannot read
   * the replies meant for anyone else (docs/permissions.md).
   */
  readonly inboxPrefix?: string | undefined
}

export type { BucketOptions } from "./internal/OpenBucket.ts"

export interface SubscribeOptions {
  readonly queue?: string
  /**
   * Told when the server refuses the subscription (the NATS user may not
   * subscribe to the subject): the refusal comes after `subscribe` has
   * returned, and the subscription then receives nothing.
   */
  readonly onDenied?: (denied: NatsDenied) => void
}

/** A message a subscription received: what handlers may read and answer. */
export type InboundMessage = Pick<Msg, "subject" | "data" | "reply" | "respond" | "string">

export class NatsConnection extends Context.Service<NatsConnection, {
  readonly request: (subject: string, payload: string, timeoutMillis: number) => Effect.Effect<string, NatsRequestError>
  readonly publish: (subject: string, payload: string) => Effect.Effect<void, NatsPublishError>
  /**
   * Calls `onMessage` for every message on `subject` until the scope closes.
   * The callback runs synchronously on the socket's read path: it must not block.
   */
  readonly subscribe: (
    subject: string,
    options: SubscribeOptions,
    onMessage: (message: InboundMessage) => void
  ) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Answers requests on `subject` until the scope closes. `handle` may answer
   * at once and return nothing (the fast path), or return the effect that
   * will answer. On close the subscription is drained and running answers
   * are awaited, so a replica shutting down does not drop requests NATS had
   * already routed to it.
   */
  readonly serve: <R>(
    subject: string,
    options: { readonly queue?: string },
    handle: (message: InboundMessage) => Effect.Effect<void, never, R> | undefined
  ) => Effect.Effect<void, never, Scope.Scope | R>
  readonly bucket: (name: string, options: BucketOptions) => Effect.Effect<KvBucket, KvError>
  /**
   * One element each time the connection is back after a disconnect, once
   * its subscriptions are in place again. What was published in between is
   * lost to them: a subscriber that must not miss anything asks again.
   */
  readonly reconnects: Stream.Stream<void>
  /** Whether the connection is up now: false between a disconnect and the reconnect, and once closed. */
  readonly connected: Effect.Effect<boolean>
  /** Registers a NATS micro service (MicroService.ts) until the scope closes. */
  readonly addService: (options: MicroServiceOptions) => Effect.Effect<void, NatsServiceError, Scope.Scope>
}>()("@tokenbus/nats/NatsConnection") {
  static readonly layer = (options: NatsConnectionOptions): Layer.Layer<NatsConnection, NatsConnectError> =>
    Layer.effect(NatsConnection, acquire(options))
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const acquire = Effect.fnUntraced(function*(options: NatsConnectionOptions) {
  // A replica may wait here for as long as NATS is away: say what it waits for.
  yield* (options.waitOnFirstConnect ? Effect.logInfo : Effect.logDebug)("connecting to NATS").pipe(
    Effect.annotateLogs({ servers: shownServers(options.servers) })
  )
  // Interruptible, so that SIGTERM stops a process still waiting for its first connection.
  const raw = yield* Effect.acquireRelease(connectRaw(options), closeRaw, { interruptible: true })
  const reconnected = yield* PubSub.unbounded<void>()
  const link = { up: true }
  yield* logStatusChanges(raw, reconnected, link)
  return NatsConnection.of({
    request: (subject, payload, timeoutMillis) => request(raw, subject, payload, timeoutMillis),
    publish: (subject, payload) =>
      Effect.try({
        try: () => raw.publish(subject, payload),
        catch: (cause) => new NatsPublishError({ subject, message: `publish on ${subject} failed: ${messageOf(cause)}`, cause })
      }),
    subscribe: (subject, options, onMessage) => subscribe(raw, subject, options, onMessage),
    serve: (subject, options, handle) =>
      serveWith((onMessage) => subscribe(raw, subject, options, onMessage), handle),
    bucket: (name, bucketOptions) => openBucket(raw, name, bucketOptions),
    reconnects: Stream.fromPubSub(reconnected),
    connected: Effect.sync(() => link.up && !raw.isClosed()),
    addService: (serviceOptions) => addService(raw, serviceOptions)
  })
})

const connectError = (options: NatsConnectionOptions, why: string, cause?: unknown) =>
  new NatsConnectError({
    servers: options.servers,
    message: `cannot connect to NATS at ${shownServers(options.servers)}: ${why}`,
    ...(cause === undefined ? {} : { cause })
  })

/**
 * A credential or TLS setting no server could accept fails at once: nats.js
 * would fail on it at every attempt, and a replica waiting for its first
 * connection would wait forever without a word.
 */
const checkSecurity = Effect.fnUntraced(function*(options: NatsConnectionOptions) {
  const tls = options.tls === undefined ? undefined : natsTlsProblem(options.tls)
  if (tls !== undefined) return yield* connectError(options, `nats.tls: ${tls}`)
  const auth = options.auth === undefined ? undefined : authProblem(options.auth)
  if (auth !== undefined) return yield* connectError(options, `nats.auth: ${auth}`)
  for (const [field, path] of Object.entries(options.tls ?? {})) {
    if (typeof path !== "string") continue
    yield* Effect.tryPromise({
      try: () => access(path, constants.R_OK),
      catch: (cause) => connectError(options, `nats.tls.${field}: cannot read ${path} (${messageOf(cause)})`)
    })
  }
})

// nats.js's own wait would retry every failure without a word: FirstConnect.ts waits instead, round by round.
const connectRaw = (options: NatsConnectionOptions) =>
  checkSecurity(options).pipe(
    Effect.andThen(options.waitOnFirstConnect ? waitForFirstConnect(dial(options)) : dial(options))
  )

const dial = (options: NatsConnectionOptions) =>
  Effect.tryPromise({
    try: (signal) => {
      const pending = connect({
        servers: [...options.servers],
        name: options.name,
        ...authConnectOptions(options.auth, options.tls),
        ...(options.inboxPrefix === undefined ? {} : { inboxPrefix: options.inboxPrefix }),
        maxReconnectAttempts: -1,
        // One round: every server once.
        waitOnFirstConnect: false,
        reconnectTimeWait: 250,
        // Async stack traces cost an allocation per request and are noise in logs.
        noAsyncTraces: true,
        // Asked before every attempt: once the wait is interrupted, failing here ends nats.js's dial loop.
        reconnectToServer: () => {
          if (signal.aborted) throw new Error("the wait for NATS was interrupted")
          return null
        }
      })
      // A connection that opens after the wait was interrupted belongs to nobody.
      signal.addEventListener("abort", () => void pending.then((connection) => connection.close(), () => undefined))
      return pending
    },
    catch: (cause) => connectError(options, connectFailure(cause, options.auth, options.tls), cause)
  })

/** Drains within a bound, then closes: a drain that cannot finish (NATS is gone) must not hold up a shutdown. */
const closeRaw = (connection: RawConnection) =>
  Effect.tryPromise(() => connection.drain()).pipe(
    Effect.timeout(drainMillis),
    Effect.catchCause(() =>
      Effect.tryPromise(() => connection.close()).pipe(Effect.timeout(drainMillis), Effect.ignore)
    )
  )

const subscribe = (
  raw: RawConnection,
  subject: string,
  { onDenied, queue }: SubscribeOptions,
  onMessage: (message: InboundMessage) => void
) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      raw.subscribe(subject, {
        ...(queue === undefined ? {} : { queue }),
        callback: (error, message) => {
          if (error === null) return onMessage(message)
          const denied = deniedOf(error)
          if (denied !== undefined) onDenied?.(denied)
        }
      })
    ),
    (subscription) =>
      Effect.promise(() => subscription.drain().catch(() => undefined)).pipe(Effect.timeout(drainMillis), Effect.ignore)
  ).pipe(Effect.asVoid)

const request = (raw: RawConnection, subject: string, payload: string, timeoutMillis: number) =>
  Effect.tryPromise({
    try: (signal) => {
      const pending = raw.request(subject, payload, { timeout: timeoutMillis })
      signal.addEventListener("abort", () => pending.catch(() => undefined))
      return pending
    },
    catch: (cause) => requestError(subject, cause)
  }).pipe(Effect.map((reply) => reply.string()))

/**
 * Disconnects and reconnects are what an operator wants to see; the rest is
 * noise. Reconnects also go to `reconnected`, for `reconnects`, and both set
 * `link.up`, for `connected`.
 */
const logStatusChanges = (raw: RawConnection, reconnected: PubSub.PubSub<void>, link: { up: boolean }) =>
  Stream.fromAsyncIterable(raw.status(), () => undefined).pipe(
    Stream.runForEach((status) => {
      if (status.type === "disconnect" || status.type === "reconnect") link.up = status.type === "reconnect"
      switch (status.type) {
        case "disconnect":
          return Effect.logWarning("disconnected from NATS").pipe(Effect.annotateLogs({ server: status.server }))
        case "reconnect":
          return Effect.logInfo("reconnected to NATS").pipe(
            Effect.annotateLogs({ server: status.server }),
            Effect.andThen(PubSub.publish(reconnected, undefined))
          )
        case "error":
          return Effect.logError("NATS server error").pipe(Effect.annotateLogs({ error: messageOf(status.error) }))
        default:
          return Effect.void
      }
    }),
    Effect.ignore,
    Effect.forkScoped
  )
