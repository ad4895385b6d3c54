/**
 * One tokenbus replica, assembled from its parts: it answers consumers for
 * every configured provider (Responder), holds its member key (LeaderLock)
 * while it is a live member of the cluster, and leads the providers that
 * fall to it among the live members (Assignment), each in its own fiber
 * (ProviderLeader), so a slow upstream never holds up another provider. The
 * cost of leadership at idle is one renewal per replica, whatever the
 * number of providers. Each part is a layer, so a test can build a replica
 * on an in-memory NATS or swap one part.
 */
import { randomUUID } from "node:crypto"
import { NatsConnection } from "@tokenbus/nats"
import { Effect, Layer, References, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import { natsConnectionOptions } from "../config/NatsSettings.ts"
import type { ServiceConfig } from "../config/ServiceConfig.ts"
import { runAssignment } from "../leadership/Assignment.ts"
import { LeaderLock } from "../leadership/LeaderLock.ts"
import { MintCycle } from "../minting/MintCycle.ts"
import { ProviderLeader } from "../minting/ProviderLeader.ts"
import * as Observe from "../observe/Observe.ts"
import * as Probes from "../observe/Probes.ts"
import { timeSliced } from "../runtime/TimeSlicedScheduler.ts"
import { TokenStore } from "../store/TokenStore.ts"
import { AskLeader } from "./AskLeader.ts"
import { followReloads } from "./followReloads.ts"
import { annotateReplica, ReplicaContext } from "./ReplicaContext.ts"
import { Responder } from "./Responder.ts"

/** Joins the cluster and leads this replica's share of the providers until the scope closes. */
export const joinAndLead = Effect.gen(function*() {
  const { config, providers, replicaId } = yield* ReplicaContext
  const locks = yield* LeaderLock
  const leader = yield* ProviderLeader
  const store = yield* TokenStore
  yield* Responder
  const members = yield* locks.members
  const holderOf = (provider: string) =>
    store.read(provider).pipe(Effect.timeout(config.lease.renewEveryMillis * 2), Effect.orElseSucceed(() => undefined))
  yield* locks.join((guard, _term, held) =>
    runAssignment({
      self: replicaId,
      members,
      providers: providers.changes,
      guard,
      held,
      lead: (provider, providerGuard, term, retire, read) => leader.lead(provider)(providerGuard, term, retire, read),
      holderOf,
      handoverMillis: config.lease.renewEveryMillis * 2,
      settleMillis: config.lease.renewEveryMillis,
      retryMillis: config.lease.ttlMillis
    })
  ).pipe(Effect.forkScoped)
  yield* Effect.logInfo("replica ready").pipe(
    Effect.annotateLogs({ providers: config.providers.length, prefix: config.prefix })
  )
})

/** The replica's parts, on the NATS connection the layer is given. */
export const parts = (config: ServiceConfig, replicaId?: string) => {
  const stored = Layer.mergeAll(TokenStore.layer, LeaderLock.layer, AskLeader.layer, MintCycle.layer)
  return Layer.mergeAll(Responder.layer, ProviderLeader.layer).pipe(
    Layer.provideMerge(stored),
    Layer.provideMerge(ReplicaContext.layer(config, replicaId)),
    Layer.provideMerge(Probes.metricsLayer)
  )
}

/**
 * A replica on the NATS connection the layer is given: it runs until the layer's scope closes, and serves
 * the providers of each configuration `reloads` brings.
 */
export const layer = (config: ServiceConfig, replicaId?: string, reloads: Stream.Stream<ServiceConfig> = Stream.empty) =>
  Layer.effectDiscard(
    timeSliced(annotateReplica(Effect.andThen(joinAndLead, followReloads(reloads))))
  ).pipe(
    Layer.provide(Observe.layer),
    Layer.provide(parts(config, replicaId))
  )

/**
 * A replica with its own connection and fetch client: on close it releases its locks, then drains NATS. Its
 * probes and metrics (`http`) answer from the start, and every line it logs, NATS's included, names it.
 */
export const layerConnect = (
  config: ServiceConfig,
  replicaId: string = randomUUID(),
  reloads: Stream.Stream<ServiceConfig> = Stream.empty
) =>
  layer(config, replicaId, reloads).pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(NatsConnection.layer({
      ...natsConnectionOptions(config.nats, "tokenbus-replica"),
      waitOnFirstConnect: true
    })),
    Layer.provide(Probes.Probes.layer(config.http)),
    Layer.provide(Layer.succeed(References.CurrentLogAnnotations, { replica: replicaId }))
  )
