/**
 * What every part of one replica shares: its id (the holder name in locks
 * and fences), its configuration, the subjects and buckets its prefix names,
 * and its cache of the newest token per provider.
 */
import { makeSubjects, type Subjects, TokenCache } from "@tokenbus/core"
import { randomUUID } from "node:crypto"
import { Context, Effect, Layer } from "effect"
import type { ServiceConfig } from "../config/ServiceConfig.ts"

export class ReplicaContext extends Context.Service<ReplicaContext, {
  readonly replicaId: string
  readonly config: ServiceConfig
  readonly subjects: Subjects
  readonly cache: TokenCache
}>()("@tokenbus/service/ReplicaContext") {
  static readonly layer = (config: ServiceConfig, replicaId: string = randomUUID()): Layer.Layer<ReplicaContext> =>
    Layer.sync(ReplicaContext, () => ({
      replicaId,
      config,
      subjects: makeSubjects(config.prefix),
      cache: new TokenCache()
    }))
}

/** Runs `effect` with the replica's id on every log line. */
export const annotateReplica = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | ReplicaContext> =>
  ReplicaContext.use((replica) => effect.pipe(Effect.annotateLogs({ replica: replica.replicaId })))
