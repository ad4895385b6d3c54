/**
 * How a replica asks a provider's leader for a token. The leader may be
 * changing hands (no responders) or may just have died with the request
 * (timeout): each attempt gets a short timeout and the replica tries again,
 * with growing pauses, until its request deadline (RequestUntilAnswered.ts
 * in the nats package). Requests for the same
 * thing (one provider, one reason, one failed version) share one question,
 * so a storm of 401 reports reaching this replica costs the leader one
 * request, not one per report. The leader's token may come sealed (a
 * cluster with a bus key): the replica's cache opens it with its bus keys
 * and checks it as it checks an update.
 */
import {
  type MintRequestMessage,
  type ProtocolError,
  refusalMessages,
  type Subjects,
  type TokenCache,
  TokenReplyJson,
  TokenUnavailable
} from "@tokenbus/core"
import { NatsConnection, requestUntilAnswered } from "@tokenbus/nats"
import { Context, Deferred, Effect, Layer, Schema } from "effect"
import { ReplicaMetrics, type ReplicaMetricsShape } from "../observe/ReplicaMetrics.ts"
import type { Answer } from "./Replies.ts"
import { ReplicaContext } from "./ReplicaContext.ts"

export interface AskLeaderOptions {
  readonly nats: NatsConnection["Service"]
  readonly subjects: Subjects
  readonly cache: TokenCache
  readonly requestTimeoutMillis: number
  /** Counts the 401 reports that join a question already asked; absent: nothing is counted. */
  readonly metrics?: ReplicaMetricsShape
}

export class AskLeader extends Context.Service<AskLeader, {
  /** Asks the leader of `provider`, or joins the same question already asked by this replica. */
  readonly ask: (provider: string, request: MintRequestMessage) => Effect.Effect<Answer, ProtocolError>
}>()("@tokenbus/service/AskLeader") {
  static readonly layer: Layer.Layer<AskLeader, never, NatsConnection | ReplicaContext> = Layer.effect(
    AskLeader,
    Effect.gen(function*() {
      const nats = yield* NatsConnection
      const { cache, config, subjects } = yield* ReplicaContext
      const { requestTimeoutMillis } = config
      const metrics = yield* ReplicaMetrics
      return { ask: makeAskLeader({ nats, subjects, cache, requestTimeoutMillis, metrics }) }
    })
  )
}

/**
 * One attempt's wait. A leader stepping down leaves questions unanswered, so
 * this bounds how long a handover keeps a consumer waiting; a mint that takes
 * longer is simply joined again by the next attempt.
 */
const attemptMillis = 250
const firstPauseMillis = 10
const longestPauseMillis = 200

const decodeReply = Schema.decodeUnknownEffect(TokenReplyJson)

export const makeAskLeader = (options: AskLeaderOptions) => {
  const { cache, nats, subjects } = options
  const pending = new Map<string, Deferred.Deferred<Answer, ProtocolError>>()

  /**
   * Keeps the leader's token and answers with the instance the cache holds (its reply is encoded once).
   * This replica will serve the token signed with the cluster's key, so the reply passes the checks an
   * update from the bus does (`offerSigned`): whoever may subscribe to the mint subject could have answered.
   */
  const relay = (provider: string, text: string) =>
    decodeReply(text).pipe(
      Effect.mapError(() => new TokenUnavailable({ provider, message: "the leader sent a reply this replica cannot read" })),
      Effect.flatMap((reply): Effect.Effect<Answer, ProtocolError> => {
        if (!reply.ok) return Effect.fail(reply.error)
        const offered = cache.offerSigned(provider, reply.token, reply.signature)
        const token = cache.get(provider)
        if ((offered !== "kept" && offered !== "stale") || token === undefined) {
          const why = offered === "kept" || offered === "stale" ? "it holds no token" : refusalMessages[offered]
          return Effect.fail(new TokenUnavailable({ provider, message: `the leader's reply was refused: ${why}` }))
        }
        const { renewalExpectedAt } = reply
        return Effect.succeed(renewalExpectedAt === undefined ? { token } : { token, renewalExpectedAt })
      })
    )

  const ask = (provider: string, request: MintRequestMessage) =>
    requestUntilAnswered(nats, subjects.mint(provider), JSON.stringify(request), {
      millis: options.requestTimeoutMillis,
      attemptMillis,
      firstPauseMillis,
      longestPauseMillis
    }).pipe(
      Effect.mapError((error) =>
        new TokenUnavailable({
          provider,
          message: error.reason === "timeout" || error.reason === "no-responders"
            ? `no leader for ${provider} answered within ${options.requestTimeoutMillis} ms`
            : `cannot ask the leader of ${provider}: ${error.message}`
        })
      ),
      Effect.flatMap((text) => relay(provider, text))
    )

  /** Asks, or joins the same question already asked by this replica. */
  return (provider: string, request: MintRequestMessage): Effect.Effect<Answer, ProtocolError> =>
    Effect.suspend(() => {
      const key = `${provider}\u0000${request.reason}\u0000${request.failedVersion ?? ""}`
      const asked = pending.get(key)
      if (asked !== undefined) {
        if (request.reason === "unauthorized-report") options.metrics?.deduplicated(provider, "joined-question")
        return Deferred.await(asked)
      }
      const answer = Deferred.makeUnsafe<Answer, ProtocolError>()
      pending.set(key, answer)
      return ask(provider, request).pipe(
        Effect.onExit((exit) => Effect.sync(() => pending.delete(key)).pipe(Effect.andThen(Deferred.done(answer, exit)))),
        Effect.andThen(Deferred.await(answer))
      )
    })
}
