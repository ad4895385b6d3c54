/**
 * How every replica answers consumers. `get` and `unauthorized` requests for
 * all providers arrive through one queue group, so NATS spreads them across
 * replicas. A replica answers from its cache when it can (the common case,
 * with a pre-encoded reply), then from KV, and otherwise asks the provider's
 * leader: replicas never mint. A token read from KV is served only if the
 * cache would hold it: one whose version is far ahead of this replica's
 * clock is not (TokenCache.ts), so the leader is asked instead.
 */
import {
  GetTokenRequestJson,
  type MintRequestMessage,
  type ProtocolError,
  protocolVersion,
  ProviderNotFound,
  providerOf,
  replicaQueue,
  UnauthorizedReportJson
} from "@tokenbus/core"
import { type InboundMessage, NatsConnection } from "@tokenbus/nats"
import { Context, Effect, Layer } from "effect"
import { ReplicaMetrics } from "../observe/ReplicaMetrics.ts"
import { TokenStore } from "../store/TokenStore.ts"
import { AskLeader } from "./AskLeader.ts"
import { followUpdates } from "./followUpdates.ts"
import { clip } from "./BoundedText.ts"
import { type Endpoint, makeRefusalLog, type RefusalLog } from "./RefusalLog.ts"
import { type Answer, errorReply, type Replies } from "./Replies.ts"
import { annotateReplica, ReplicaContext } from "./ReplicaContext.ts"
import { decodeRequest } from "./RequestPayload.ts"

const decodeGet = decodeRequest(GetTokenRequestJson, "get request")
const decodeReport = decodeRequest(UnauthorizedReportJson, "unauthorized report")

/** The payload of the plain `get` every client sends, as bytes: the hot path compares without decoding. */
const plainGet = new TextEncoder().encode(JSON.stringify({ v: protocolVersion }))

const isPlainGet = (data: Uint8Array): boolean =>
  data.length === 0 || (data.length === plainGet.length && data.every((byte, index) => byte === plainGet[index]))

/** As long as the longest provider id: a configured one is never cut, and a subject's token is the sender's. */
const maxEchoedProviderChars = 64

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
      const metrics = yield* ReplicaMetrics
      const fromLeader = (provider: string, request: MintRequestMessage) =>
        ask(provider, request).pipe(Effect.map((answer) => {
          metrics.served(provider, "leader")
          return answer
        }))

      // Suspended: a request whose payload fails to decode builds this effect without running it, and counts nothing.
      const current = (provider: string): Effect.Effect<Answer, ProtocolError> => Effect.suspend(() => {
        const cached = cache.get(provider)
        if (cached !== undefined) {
          metrics.served(provider, "cache")
          return Effect.succeed({ token: cached })
        }
        metrics.missed(provider)
        return store.read(provider).pipe(
          Effect.flatMap(({ token }) => {
            if (token === undefined || !cache.isPlausible(token.version)) {
              return fromLeader(provider, { v: protocolVersion, reason: "initial" })
            }
            cache.offer(token)
            metrics.served(provider, "kv")
            // Another answer may have brought a newer token meanwhile: the newest held is the answer.
            return Effect.succeed({ token: cache.get(provider) ?? token })
          }),
          Effect.catchTag("KvError", () => fromLeader(provider, { v: protocolVersion, reason: "initial" }))
        )
      })

      const afterUnauthorized = (provider: string, failedVersion: number): Effect.Effect<Answer, ProtocolError> => {
        metrics.unauthorizedReceived(provider)
        const cached = cache.get(provider)
        if (cached !== undefined && cached.version > failedVersion) {
          metrics.deduplicated(provider, "newer-held")
          metrics.served(provider, "cache")
          return Effect.succeed({ token: cached })
        }
        metrics.missed(provider)
        return fromLeader(provider, { v: protocolVersion, reason: "unauthorized-report", failedVersion })
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

/** Answers `message` with the outcome of `work`; a refusal is logged through `refusals`, at a bounded rate. */
const answer = (
  message: InboundMessage,
  endpoint: Endpoint,
  refusals: RefusalLog,
  replies: Replies,
  work: Effect.Effect<Answer, ProtocolError>
) =>
  work.pipe(
    Effect.tapError((error) => refusals.refused({ endpoint, subject: message.subject, error })),
    Effect.match({ onFailure: errorReply, onSuccess: replies.answerReply }),
    Effect.flatMap((reply) => Effect.sync(() => message.respond(reply)))
  )

/** Nothing is kept for an unknown provider: the id only goes, cut short, into the reply. */
const unknownProvider = (provider: string): Effect.Effect<never, ProviderNotFound> => {
  const named = clip(provider, maxEchoedProviderChars)
  return Effect.fail(new ProviderNotFound({ provider: named, message: `no provider named ${named}` }))
}

/** Serves consumers' requests through one queue group, so NATS spreads them across replicas. */
const serveConsumers = (responder: Responder["Service"]) =>
  Effect.gen(function*() {
    const nats = yield* NatsConnection
    const { cache, providers, replies, subjects } = yield* ReplicaContext
    const refusals = yield* makeRefusalLog()
    const metrics = yield* ReplicaMetrics

    yield* nats.serve(subjects.anyGet, { queue: replicaQueue }, (message) => {
      const provider = providerOf(message.subject)
      if (providers.get(provider) === undefined) return answer(message, "get", refusals, replies, unknownProvider(provider))
      const cached = cache.get(provider)
      const plain = isPlainGet(message.data)
      if (plain && cached !== undefined) {
        metrics.served(provider, "cache")
        return void message.respond(replies.tokenReply(cached))
      }
      return answer(
        message,
        "get",
        refusals,
        replies,
        plain ? responder.current(provider) : decodeGet(message).pipe(Effect.andThen(responder.current(provider)))
      )
    })

    yield* nats.serve(subjects.anyUnauthorized, { queue: replicaQueue }, (message) => {
      const provider = providerOf(message.subject)
      if (providers.get(provider) === undefined) {
        return answer(message, "unauthorized", refusals, replies, unknownProvider(provider))
      }
      return answer(
        message,
        "unauthorized",
        refusals,
        replies,
        decodeReport(message).pipe(Effect.flatMap((report) => responder.afterUnauthorized(provider, report.version)))
      )
    })

    // Every replica (no queue group) keeps its cache current from the broadcast.
    yield* followUpdates
  })
