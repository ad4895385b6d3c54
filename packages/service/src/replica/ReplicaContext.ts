/**
 * What every part of one replica shares: its id (the holder name in locks
 * and fences), its configuration, the subjects and buckets its prefix names,
 * its cache of the newest token per provider, and how it puts tokens on the
 * wire (`replies`, made from its own keys: nothing is shared with other
 * replicas of the process). The cache verifies what arrives on the bus with
 * the signing key's public half, so only tokens some replica of the cluster
 * signed replace what it holds, and opens sealed ones with the bus keys; a
 * replica with no signing key signs nothing and checks no signature, and
 * says so when it starts.
 */
import { makeSubjects, type SigningKey, signingKeyFromPem, type Subjects, TokenCache } from "@tokenbus/core"
import { randomUUID } from "node:crypto"
import { Clock, Context, Effect, Layer, Result } from "effect"
import type { ServiceConfig } from "../config/ServiceConfig.ts"
import { HeardUpdates } from "./HeardUpdates.ts"
import { makeProviderSet, type ProviderSet } from "./ProviderSet.ts"
import { makeReplies, type Replies } from "./Replies.ts"

export class ReplicaContext extends Context.Service<ReplicaContext, {
  readonly replicaId: string
  readonly config: ServiceConfig
  readonly subjects: Subjects
  readonly cache: TokenCache
  /** Absent: tokens are sent unsigned. */
  readonly signing: SigningKey | undefined
  /** This replica's encoded replies and updates, signed with `signing` and sealed with `config.bus`. */
  readonly replies: Replies
  /** The providers it serves now: `config.providers` at start, then as reloads change them. */
  readonly providers: ProviderSet
  /** Which tokens it kept from the updates subjects (followUpdates.ts): published already. */
  readonly heard: HeardUpdates
}>()("@tokenbus/service/ReplicaContext") {
  static readonly layer = (config: ServiceConfig, replicaId: string = randomUUID()): Layer.Layer<ReplicaContext> =>
    Layer.effect(
      ReplicaContext,
      Effect.gen(function*() {
        const clock = yield* Clock.Clock
        const signing = yield* signingKeyOf(config)
        if (signing === undefined) {
          yield* Effect.logWarning(unsignedWarning).pipe(Effect.annotateLogs({ replica: replicaId }))
        }
        if (config.bus !== undefined) {
          yield* Effect.logInfo(sealedBusMessage).pipe(
            Effect.annotateLogs({ replica: replicaId, keyId: config.bus.write.id })
          )
        }
        const cache = new TokenCache({
          verifyKeys: signing === undefined ? [] : [signing.verifyKey],
          busKeys: config.bus?.keys ?? [],
          now: () => clock.currentTimeMillisUnsafe()
        })
        const replies = makeReplies({ signing, bus: config.bus })
        const providers = yield* makeProviderSet(config.providers)
        const heard = new HeardUpdates()
        return { replicaId, config, subjects: makeSubjects(config.prefix), cache, signing, replies, providers, heard }
      })
    )
}

export const unsignedWarning = "no signing key (signing.privateKey): this replica's tokens are unsigned, " +
  "so consumers cannot tell them from forged ones, and it accepts unsigned updates; create one with `tokenbus keygen`"

export const sealedBusMessage = "access tokens on the bus are sealed with the bus key"

/** The configured key; the configuration checked it when it was read, so a failure here is a defect. */
const signingKeyOf = (config: ServiceConfig): Effect.Effect<SigningKey | undefined> => {
  if (config.signing === undefined) return Effect.succeed(undefined)
  const key = signingKeyFromPem(config.signing.privateKey)
  return Result.isSuccess(key) ? Effect.succeed(key.success) : Effect.die(key.failure)
}

/** Runs `effect` with the replica's id on every log line. */
export const annotateReplica = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | ReplicaContext> =>
  ReplicaContext.use((replica) => effect.pipe(Effect.annotateLogs({ replica: replica.replicaId })))
