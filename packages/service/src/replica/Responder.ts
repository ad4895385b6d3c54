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
  supportedVersions,
  UnauthorizedReportJson,
  UnsupportedProtocolVersion
} from "@tokenbus/core"
import { type InboundMessage, NatsConnection } from "@tokenbus/nats"
import { Context, Effect, Layer, Schema } from "effect"
import { TokenStore } from "../store/TokenStore.ts"
import { AskLeader } from "./AskLeader.ts"
import { type Answer, answerReply, errorReply, tokenReply } from "./Replies.ts"
import { annotateReplica, ReplicaContext } from "./ReplicaContext.ts"

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

export class Responder extends Context.Service<Responder, {
  /** The provider's current token: from memory, else KV, else its leader. */
  readonly current: (provider: string) => Effect.Effect<Answer, ProtocolError>
  /** What a consumer whose token `failedVersion` got a 401 should use next. */
  readonly afterUnauthorized: (provider: string, failedVersion: number) => Effect.Effect<Answer, ProtocolError>
}>()("@tokenbus/service/Responder") {
  static readonly make: Effect.Effect<Responder["Service"], never, ReplicaContext | TokenStore | AskLeader> = Effect.gen(
    function*() {
      const { cache } = yield* ReplicaContext
      const store = yield* TokenStore
      const { ask } = yield* AskLeader

      const current = (provider: string): Effect.Effect<Answer, ProtocolError> => {
        const cached = cache.get(provider)
        if (cached !== undefined) return Effect.succeed({ token: cached })
        return store.read(provider).pipe(
          Effect.flatMap(({ token }) => {
            if (token === undefined) return ask(provider, { v: protocolVersion, reason: "initial" })
            cache.offer(token)
            return Effect.succeed({ token })
          }),
          Effect.catchTag("KvError", () => ask(provider, { v: protocolVersion, reason: "initial" }))
        )
      }

      const afterUnauthorized = (provider: string, failedVersion: number): Effect.Effect<Answer, ProtocolError> => {
        const cached = cache.get(provider)
        if (cached !== undefined && cached.version > failedVersion) return Effect.succeed({ token: cached })
        return ask(provider, { v: protocolVersion, reason: "unauthorized-report", failedVersion })
      }

      return { current, afterUnauthorized }
    }
  )

  /** The responder, answering every provider's `get` and `unauthorized` subjects until the layer's scope closes. */
  static readonly layer: Layer.Layer<Responder, never, NatsConnection | ReplicaContext | TokenStore | AskLeader> =
    Layer.effect(
      Responder,
      Effect.gen(function*() {
        const responder = yield* Responder.make
        yield* annotateReplica(serveConsumers(responder))
        return responder
      })
    )
}

const answer = (message: InboundMessage, work: Effect.Effect<Answer, ProtocolError>) =>
  work.pipe(
    Effect.tapError((error) =>
      Effect.logWarning("request refused").pipe(
        Effect.annotateLogs({ subject: message.subject, error: error._tag, reason: error.message })
      )
    ),
    Effect.match({ onFailure: errorReply, onSuccess: answerReply }),
    Effect.flatMap((reply) => Effect.sync(() => message.respond(reply)))
  )

const unknownProvider = (provider: string, message: InboundMessage) =>
  answer(message, Effect.fail(new ProviderNotFound({ provider, message: `no provider named ${provider}` })))

/** Serves consumers' requests through one queue group, so NATS spreads them across replicas. */
const serveConsumers = (responder: Responder["Service"]) =>
  Effect.gen(function*() {
    const nats = yield* NatsConnection
    const { cache, config, subjects } = yield* ReplicaContext
    const providers = new Set(config.providers.map((provider) => provider.id))

    yield* nats.serve(subjects.anyGet, { queue: replicaQueue }, (message) => {
      const provider = providerOf(message.subject)
      if (!providers.has(provider)) return unknownProvider(provider, message)
      const cached = cache.get(provider)
      const plain = isPlainGet(message.data)
      if (plain && cached !== undefined) return void message.respond(tokenReply(cached))
      return answer(
        message,
        plain ? responder.current(provider) : decodeGet(message.string()).pipe(
          Effect.mapError(invalid("get request")),
          Effect.flatMap((request) => checkVersion(request.v)),
          Effect.andThen(responder.current(provider))
        )
      )
    })

    yield* nats.serve(subjects.anyUnauthorized, { queue: replicaQueue }, (message) => {
      const provider = providerOf(message.subject)
      if (!providers.has(provider)) return unknownProvider(provider, message)
      return answer(
        message,
        decodeReport(message.string()).pipe(
          Effect.mapError(invalid("unauthorized report")),
          Effect.tap((report) => checkVersion(report.v)),
          Effect.flatMap((report) => responder.afterUnauthorized(provider, report.version))
        )
      )
    })

    // Every replica (no queue group) keeps its cache current from the broadcast.
    yield* nats.subscribe(subjects.anyUpdates, {}, (message) => void cache.offerUpdate(message.string()))
  })
