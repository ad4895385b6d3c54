/**
 * What a replica shows of itself, put together: its health (Health.ts),
 * handed to its process's probes when it has them (Probes.ts), and its
 * registration for NATS service discovery (Discovery.ts), and the feed of
 * its dashboard (DashboardFeed.ts), when it has a port. Built after the
 * Responder, so a replica that says it is ready has its consumer
 * subscriptions in place.
 */
import type { NatsConnection } from "@tokenbus/nats"
import { Effect, Layer, Option } from "effect"
import { Responder } from "../replica/Responder.ts"
import type { ReplicaContext } from "../replica/ReplicaContext.ts"
import type { TokenStore } from "../store/TokenStore.ts"
import { makeDashboardFeed } from "./DashboardFeed.ts"
import * as Discovery from "./Discovery.ts"
import { Health } from "./Health.ts"
import { Probes } from "./Probes.ts"

const attached = Layer.effectDiscard(Effect.gen(function*() {
  yield* Responder
  const health = yield* Health
  const probes = yield* Effect.serviceOption(Probes)
  if (Option.isSome(probes)) {
    yield* probes.value.attach(health)
    yield* probes.value.dashboard.attach(yield* makeDashboardFeed())
  }
}))

export const layer: Layer.Layer<Health, never, NatsConnection | ReplicaContext | TokenStore | Responder> = Layer
  .mergeAll(attached, Discovery.layer).pipe(Layer.provideMerge(Health.layer))
