/**
 * One tokenbus replica: answers consumers for every configured provider and
 * campaigns, per provider, to be the one that mints. Providers have separate
 * locks and leaders, so a slow upstream never holds up another provider.
 */
import { makeSubjects, TokenCache } from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { randomUUID } from "node:crypto"
import { Effect, Layer } from "effect"
import { campaign } from "./LeaderLock.ts"
import { lead } from "./ProviderLeader.ts"
import { respond } from "./Responder.ts"
import type { ServiceConfig } from "./ServiceConfig.ts"
import { makeTokenStore } from "./TokenStore.ts"

/** Past revisions of each provider's state are kept (64, the most KV allows) for audit of who minted what and why. */
const tokenHistory = 64

export const run = (config: ServiceConfig, replicaId: string = randomUUID()) =>
  Effect.gen(function*() {
    const nats = yield* NatsConnection
    const subjects = makeSubjects(config.prefix)
    const cache = new TokenCache()
    const leases = yield* nats.bucket(subjects.leaseBucket, { ttlMillis: config.lease.ttlMillis })
    const store = makeTokenStore(yield* nats.bucket(subjects.tokenBucket, { history: tokenHistory }))

    yield* respond({
      providers: new Set(config.providers.map((provider) => provider.id)),
      store,
      subjects,
      cache,
      requestTimeoutMillis: config.requestTimeoutMillis
    })

    for (const provider of config.providers) {
      const leader = lead({ provider, holder: replicaId, store, subjects, cache })
      yield* campaign({ bucket: leases, key: provider.id, holder: replicaId, lease: config.lease }, leader).pipe(
        Effect.annotateLogs({ provider: provider.id }),
        Effect.forkScoped
      )
    }
    yield* Effect.logInfo("replica ready").pipe(
      Effect.annotateLogs({ providers: config.providers.map((provider) => provider.id).join(","), prefix: config.prefix })
    )
  }).pipe(Effect.annotateLogs({ replica: replicaId }))

/** The replica as a layer: it runs until the layer's scope closes, then releases its locks and drains. */
export const layer = (config: ServiceConfig, replicaId?: string) =>
  Layer.effectDiscard(run(config, replicaId)).pipe(
    Layer.provide(NatsConnection.layer({
      servers: config.nats.servers,
      name: config.nats.name ?? "tokenbus-replica",
      waitOnFirstConnect: true
    }))
  )
