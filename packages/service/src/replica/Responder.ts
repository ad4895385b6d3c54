/**
 * How every replica answers consumers. `get` and `unauthorized` requests for
 * all providers arrive through one queue group, so NATS spreads them across
 * replicas. A replica answers from its cache when it can (the common case,
 * with a pre-encoded reply), then from KV, and otherwise asks the provider's
 * leader: replicas never mint.
 */
import {
  GetTokenRequestJson,
  InvalidRequest,
  type ProtocolError,
  protocolVersion,
  ProviderNotFound,
  providerOf,
  replicaQueue,
  type Subjects,
  supportedVersions,
  type TokenCache,
  UnauthorizedReportJson,
  UnsupportedProtocolVersion
} from "@tokenbus/core"
import { type InboundMessage, NatsConnection } from "@tokenbus/nats"
import { Effect, Schema, type Scope } from "effect"
import { makeAskLeader } from "./internal/AskLeader.ts"
import { type Answer, answerReply, errorReply, tokenReply } from "./internal/replies.ts"
import type { TokenStore } from "./TokenStore.ts"

export interface ResponderDeps {
  readonly providers: ReadonlySet<string>
  readonly store: TokenStore
  readonly subjects: Subjects
  readonly cache: TokenCache
  readonly requestTimeoutMillis: number
}

const decodeGet = Schema.decodeUnknownEffect(GetTokenRequestJson)
const decodeReport = Schema.decodeUnknownEffect(UnauthorizedReportJson)

/** The payload of the plain `get` every client sends, as bytes: the hot path compares without decoding. */
const plainGet = new TextEncoder().encode(JSON.stringify({ v: protocolVersion }))

const isPlainGet = (data: Uint8Array): boolean =>
  data.length === 0 || (data.length === plainGet.length && data.every((byte, index) => byte === plainGet[index]))

const checkVersion = (v: number) =>
  supportedVersions.includes(v) ? Effect.void : Effect.fail(
    new UnsupportedProtocolVersion({
      requested: v,
      supported: supportedVersions,
      message: `protocol version ${v} is not supported; this replica speaks ${supportedVersions.join(", ")}`
    })
  )

const invalid = (what: string) => (error: { readonly message: string }) =>
  new InvalidRequest({ message: `malformed ${what}: ${error.message}` })

export const respond = (deps: ResponderDeps): Effect.Effect<void, never, Scope.Scope | NatsConnection> =>
  Effect.gen(function*() {
    const nats = yield* NatsConnection
    const { cache, store, subjects } = deps

    const askLeader = makeAskLeader({ nats, subjects, cache, requestTimeoutMillis: deps.requestTimeoutMillis })

    const current = (provider: string): Effect.Effect<Answer, ProtocolError> => {
      const cached = cache.get(provider)
      if (cached !== undefined) return Effect.succeed({ token: cached })
      return store.read(provider).pipe(
        Effect.flatMap(({ token }) => {
          if (token === undefined) return askLeader(provider, { v: protocolVersion, reason: "initial" })
          cache.offer(token)
          return Effect.succeed({ token })
        }),
        Effect.catchTag("KvError", () => askLeader(provider, { v: protocolVersion, reason: "initial" }))
      )
    }

    const afterUnauthorized = (provider: string, failedVersion: number): Effect.Effect<Answer, ProtocolError> => {
      const cached = cache.get(provider)
      if (cached !== undefined && cached.version > failedVersion) return Effect.succeed({ token: cached })
      return askLeader(provider, { v: protocolVersion, reason: "unauthorized-report", failedVersion })
    }

    const answer = (message: InboundMessage, work: Effect.Effect<Answer, ProtocolError>) =>
      work.pipe(
        Effect.tapError((error) => Effect.logWarning("request refused").pipe(
          Effect.annotateLogs({ subject: message.subject, error: error._tag, reason: error.message })
        )),
        Effect.match({ onFailure: errorReply, onSuccess: answerReply }),
        Effect.flatMap((reply) => Effect.sync(() => message.respond(reply)))
      )

    const unknownProvider = (provider: string, message: InboundMessage) =>
      answer(message, Effect.fail(new ProviderNotFound({ provider, message: `no provider named ${provider}` })))

    yield* nats.serve(subjects.anyGet, { queue: replicaQueue }, (message) => {
      const provider = providerOf(message.subject)
      if (!deps.providers.has(provider)) return unknownProvider(provider, message)
      const cached = cache.get(provider)
      const plain = isPlainGet(message.data)
      if (plain && cached !== undefined) return void message.respond(tokenReply(cached))
      return answer(
        message,
        plain ? current(provider) : decodeGet(message.string()).pipe(
          Effect.mapError(invalid("get request")),
          Effect.flatMap((request) => checkVersion(request.v)),
          Effect.andThen(current(provider))
        )
      )
    })

    yield* nats.serve(subjects.anyUnauthorized, { queue: replicaQueue }, (message) => {
      const provider = providerOf(message.subject)
      if (!deps.providers.has(provider)) return unknownProvider(provider, message)
      return answer(
        message,
        decodeReport(message.string()).pipe(
          Effect.mapError(invalid("unauthorized report")),
          Effect.tap((report) => checkVersion(report.v)),
          Effect.flatMap((report) => afterUnauthorized(provider, report.version))
        )
      )
    })

    // Every replica (no queue group) keeps its cache current from the broadcast.
    yield* nats.subscribe(subjects.anyUpdates, {}, (message) => void cache.offerUpdate(message.string()))
  })
