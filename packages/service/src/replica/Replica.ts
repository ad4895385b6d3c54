/**
 * One tokenbus replica, assembled from its parts: it answers consumers for
 * every configured provider (Responder) and campaigns, per provider, for the
 * lock (LeaderLock) whose holder mints (ProviderLeader). Providers have
 * separate locks and leaders, so a slow upstream never holds up another
 * provider. Each part is a layer, so a test can build a replica on an
 * in-memory NATS or swap one part.
 */
import { NatsConnection } from "@tokenbus/nats"
import { Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { natsConnectionOptions } from "../config/NatsSettings.ts"
import type { ServiceConfig } from "../config/ServiceConfig.ts"
import { LeaderLock } from "../leadership/LeaderLock.ts"
import { MintCycle } from "../minting/MintCycle.ts"
import { ProviderLeader } from "../minting/ProviderLeader.ts"
import { TokenStore } from "../store/TokenStore.ts"
import { AskLeader } from "./AskLeader.ts"
import { annotateReplica, ReplicaContext } from "./ReplicaContext.ts"
import { Responder } from "./Responder.ts"

/** Campaigns for every provider's lock, each in its own fiber, until the layer's scope closes. */
const campaignAll = Effect.gen(function*() {
  const { config } = yield* ReplicaContext
  const locks = yield* LeaderLock
  const leader = yield* ProviderLeader
  yield* Responder
  for (const provider of config.providers) {
    yield* locks.campaign(provider.id, leader.lead(provider)).pipe(
      Effect.annotateLogs({ provider: provider.id }),
      Effect.forkScoped
    )
  }
  yield* Effect.logInfo("replica ready").pipe(
    Effect.annotateLogs({ providers: config.providers.map((provider) => provider.id).join(","), prefix: config.prefix })
  )
})

/** The replica's parts, on the NATS connection the layer is given. */
export const parts = (config: ServiceConfig, replicaId?: string) => {
  const stored = Layer.mergeAll(TokenStore.layer, LeaderLock.layer, AskLeader.layer, MintCycle.layer)
  return Layer.mergeAll(Responder.layer, ProviderLeader.layer).pipe(
    Layer.provideMerge(stored),
    Layer.provideMerge(ReplicaContext.layer(config, replicaId))
  )
}

/** A replica on the NATS connection the layer is given: it runs until the layer's scope closes. */
export const layer = (config: ServiceConfig, replicaId?: string) =>
  Layer.effectDiscard(annotateReplica(campaignAll)).pipe(Layer.provide(parts(config, replicaId)))

/** A replica with its own connection and fetch client: on close it releases its locks, then drains NATS. */
export const layerConnect = (config: ServiceConfig, replicaId?: string) =>
  layer(config, replicaId).pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(NatsConnection.layer({
      ...natsConnectionOptions(config.nats, "tokenbus-replica"),
      waitOnFirstConnect: true
    }))
  )
