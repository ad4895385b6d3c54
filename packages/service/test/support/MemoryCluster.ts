// Replicas of the real service on the in-memory NATS of @tokenbus/nats/testing,
// with an upstream whose answers the test decides: the minting core under
// TestClock, without Docker, sockets or an HTTP upstream.
import {
  defaultRateLimit,
  isSealedToken,
  type Lifecycle,
  makeSubjects,
  onUnauthorized,
  protocolVersion,
  type RateLimit,
  type Token,
  TokenReplyJson
} from "@tokenbus/core"
import { assert } from "@effect/vitest"
import { makeMemoryNats, type MemoryNats, type MemoryNatsConnection } from "@tokenbus/nats/testing"
import { Deferred, Effect, Exit, Layer, Option, Redacted, Ref, Schema, Scope, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import type { ConfiguredProvider } from "../../src/config/ConfiguredProvider.ts"
import type { ServiceConfig } from "../../src/config/ServiceConfig.ts"
import type { LostAnswer, MintedToken, MintInput } from "../../src/kinds/ProviderKind.ts"
import * as Replica from "../../src/replica/Replica.ts"
import { UpstreamError, type UpstreamErrorKind } from "../../src/upstream/UpstreamError.ts"
import { testStorage } from "./StorageKeys.ts"

export const PROVIDER = "acme"
export const prefix = "tb"
export const subjects = makeSubjects(prefix)
export const lease = { ttlMillis: 3000, renewEveryMillis: 750, safetyMarginMillis: 500 } as const

/** What the fake upstream does on its next calls; `mint` when nothing is queued. */
export type UpstreamAnswer =
  | "mint"
  | UpstreamErrorKind
  /** No answer within the call's timeout: the upstream may have acted on it. */
  | "timeout"
  | { readonly kind: "rate-limited"; readonly retryAfterMillis: number }

/** The status the upstream answers each kind of failure with. */
const statusOf: Record<UpstreamErrorKind, number> = {
  transient: 503,
  "rate-limited": 429,
  "credentials-rejected": 401,
  unusable: 200,
  refused: 400
}

/** An upstream that counts its calls, answers as told, and can hold a call until the test lets it go. */
export const makeUpstream = Effect.gen(function*() {
  const calls = yield* Ref.make(0)
  const answers = yield* Ref.make<ReadonlyArray<UpstreamAnswer>>([])
  const gate = yield* Ref.make<Deferred.Deferred<void> | undefined>(undefined)
  /** Runs inside each call, before it answers: lets a test look at KV at the moment of the call. */
  const onCall = yield* Ref.make<Effect.Effect<void>>(Effect.void)

  const carries = yield* Ref.make<ReadonlyArray<string | undefined>>([])

  const mint = (input: MintInput) => Effect.gen(function*() {
    const n = yield* Ref.updateAndGet(calls, (count) => count + 1)
    yield* Ref.update(carries, (seen) => [...seen, input.carry === undefined ? undefined : Redacted.value(input.carry)])
    yield* Effect.flatten(Ref.get(onCall))
    const held = yield* Ref.get(gate)
    if (held !== undefined) yield* Deferred.await(held)
    const [answer = "mint", ...rest] = yield* Ref.get(answers)
    yield* Ref.set(answers, rest)
    if (typeof answer === "object") {
      const { kind, retryAfterMillis } = answer
      return yield* new UpstreamError({ provider: PROVIDER, kind, retryAfterMillis, status: 429, message: "upstream answered 429" })
    }
    if (answer === "timeout") {
      return yield* new UpstreamError({ provider: PROVIDER, kind: "transient", message: "upstream did not answer" })
    }
    if (answer !== "mint") {
      const status = statusOf[answer]
      return yield* new UpstreamError({ provider: PROVIDER, kind: answer, status, message: `upstream answered ${status}` })
    }
    const minted: MintedToken = {
      accessToken: Redacted.make(`token-${n}`),
      tokenType: "Bearer",
      expiresInSeconds: 3600,
      carry: Redacted.make(`carry-${n}`)
    }
    return minted
  })

  return {
    minter: { mint },
    calls: Ref.get(calls),
    /** The carry each call was given, in order. */
    carries: Ref.get(carries),
    answerNext: (...next: ReadonlyArray<UpstreamAnswer>) => Ref.set(answers, next),
    onCall: (effect: Effect.Effect<void>) => Ref.set(onCall, effect),
    /** Holds every call until the returned effect is run. */
    hold: Effect.gen(function*() {
      const held = yield* Deferred.make<void>()
      yield* Ref.set(gate, held)
      return Ref.set(gate, undefined).pipe(Effect.andThen(Deferred.succeed(held, undefined)))
    })
  }
})
export type Upstream = Effect.Success<typeof makeUpstream>

export interface ProviderOptions {
  readonly lifecycle?: Lifecycle
  readonly rateLimit?: RateLimit
  readonly fingerprint?: string
  readonly lostAnswer?: LostAnswer
}

export const providerFor = (upstream: Upstream, options: ProviderOptions = {}): ConfiguredProvider => {
  const provider: ConfiguredProvider = {
    id: PROVIDER,
    kind: "test",
    resolved: {},
    rateLimit: options.rateLimit ?? defaultRateLimit,
    retry: { attempts: 2, baseMillis: 100, capMillis: 1000 },
    circuitBreaker: { freshTokenMillis: 5_000 },
    lifecycle: options.lifecycle ?? onUnauthorized,
    minter: upstream.minter,
    lostAnswer: options.lostAnswer,
    // The test's upstream returns a carry with every token.
    carries: true,
    watch: () => Stream.never,
    fingerprint: options.fingerprint ?? "fingerprint-1",
    reload: () => Effect.succeed(provider)
  }
  return provider
}

export const configFor = (provider: ConfiguredProvider): ServiceConfig => ({
  nats: { servers: ["memory"] },
  prefix,
  lease,
  requestTimeoutMillis: 2_000,
  storage: testStorage,
  providers: [provider]
})

/** A replica on its own in-memory connection; closing `scope` stops it as SIGTERM would. */
export interface MemoryReplica {
  readonly id: string
  readonly connection: MemoryNatsConnection
  readonly scope: Scope.Closeable
  readonly stop: Effect.Effect<void>
}

export const startReplica = (nats: MemoryNats, config: ServiceConfig, id: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const connection = yield* nats.connection(id).pipe(Scope.provide(scope))
    // The test's upstream is no HTTP server: the client is there for the layer, and never used.
    const replica = Replica.layer(config, id).pipe(Layer.provide([connection.layer, FetchHttpClient.layer]))
    yield* Layer.buildWithScope(replica, scope)
    return { id, connection, scope, stop: Scope.close(scope, Exit.void) } satisfies MemoryReplica
  })

/** Moves the test clock in small steps, so fibers woken on the way run before time moves on. */
export const advance = (millis: number, step = 50) =>
  Effect.gen(function*() {
    for (let passed = 0; passed < millis; passed += step) {
      yield* TestClock.adjust(Math.min(step, millis - passed))
      yield* Effect.yieldNow
    }
  })

const decodeReply = Schema.decodeUnknownEffect(TokenReplyJson)
type Reply = typeof TokenReplyJson.Type

/** The token of a reply that must be one, in clear (these replicas have no bus key). */
export const tokenOf = (reply: Reply): Token => {
  if (!reply.ok) return assert.fail(`expected a token, got ${JSON.stringify(reply)}`)
  if (isSealedToken(reply.token)) return assert.fail(`expected a token in clear, got a sealed one`)
  return reply.token
}

/** The error of a reply that must be one. */
export const errorOf = (reply: Reply) => {
  if (reply.ok) return assert.fail(`expected an error, got version ${reply.token.version}`)
  return reply.error
}

/** A consumer's request on the wire, as any client sends it; the decoded reply. */
export const request = (consumer: MemoryNatsConnection, subject: string, payload: object) =>
  consumer.request(subject, JSON.stringify({ v: protocolVersion, ...payload }), 5_000).pipe(
    Effect.flatMap(decodeReply)
  )

export const getToken = (consumer: MemoryNatsConnection) => request(consumer, subjects.get(PROVIDER), {})

export const reportUnauthorized = (consumer: MemoryNatsConnection, token: Token) =>
  request(consumer, subjects.unauthorized(PROVIDER), { version: token.version })

/** The replica leading the provider: the holder of the fence on its state in KV (the last to take it over). */
export const lockHolder = (connection: MemoryNatsConnection) =>
  connection.bucket(subjects.tokenBucket, {}).pipe(
    Effect.flatMap((bucket) => bucket.get(PROVIDER)),
    Effect.map((entry) =>
      entry._tag === "Some"
        ? (JSON.parse(entry.value.value) as { fence?: { holder: string } }).fence?.holder
        : undefined
    )
  )

/** `replicas` replicas of one provider on a new in-memory NATS, a consumer, and the first token they minted. */
export const startCluster = (replicas: number, options: ProviderOptions = {}) =>
  Effect.gen(function*() {
    const nats = yield* makeMemoryNats
    const upstream = yield* makeUpstream
    const config = configFor(providerFor(upstream, options))
    const started: Array<MemoryReplica> = []
    for (let index = 1; index <= replicas; index++) started.push(yield* startReplica(nats, config, `replica-${index}`))
    const consumer = yield* nats.connection("consumer")
    // Members join, then settle for one renewal period before the owner takes the provider.
    yield* advance(1_500)
    const first = tokenOf(yield* getToken(consumer))
    return { nats, upstream, config, replicas: started, consumer, first }
  })

/**
 * Deletes bucket `name` and creates it again, as an operator would (`nats kv
 * del`, then `nats kv add`): a new, empty stream whose revisions start at 1.
 */
export const recreateBucket = (nats: MemoryNats, name: string) =>
  Effect.flatMap(nats.bucketStore(name), Option.match({
    onNone: () => Effect.die(new Error(`no client has opened bucket ${name}`)),
    onSome: (store) => store.recreate
  }))

export { makeMemoryNats }
