/**
 * What a replica process shows on its HTTP port, held apart from the
 * replica so that the port answers from the start: while the process waits
 * for NATS, and while it shuts down, both probes say 503 and why; once the
 * replica is built (Observe.ts attaches its Health) they say what it says.
 * The process's `ReplicaMetrics` live here too, so the replica built later
 * counts into the registry `/metrics` already serves (`metricsLayer`).
 */
import { Clock, Context, Effect, Layer, Option, type Scope } from "effect"
import type { HttpConfig } from "../config/HttpConfig.ts"
import { type DashboardSource, makeDashboardSource } from "./DashboardSource.ts"
import type { Health } from "./Health.ts"
import { serveHttp } from "./HttpEndpoints.ts"
import { type Probe, probeFailed } from "./Probe.ts"
import { makeReplicaMetrics, ReplicaMetrics, type ReplicaMetricsShape } from "./ReplicaMetrics.ts"

const starting = Effect.succeed(probeFailed("the replica is starting: connecting to NATS"))

export class Probes extends Context.Service<Probes, {
  readonly metrics: ReplicaMetricsShape
  readonly alive: Effect.Effect<Probe>
  readonly ready: Effect.Effect<Probe>
  /** The dashboard's events, fed once the replica attaches its feed (Observe.ts). */
  readonly dashboard: DashboardSource
  /** Answers with `health` until the scope closes; after it, the replica is stopping. */
  readonly attach: (health: Health["Service"]) => Effect.Effect<void, never, Scope.Scope>
}>()("@tokenbus/service/Probes") {
  /** The probes and metrics of one replica process, served on `http` when it is given. */
  static readonly layer = (http: HttpConfig | undefined): Layer.Layer<Probes> =>
    Layer.effect(
      Probes,
      Effect.gen(function*() {
        const clock = yield* Clock.Clock
        const metrics = makeReplicaMetrics(() => clock.currentTimeMillisUnsafe())
        let current: { readonly alive: Effect.Effect<Probe>; readonly ready: Effect.Effect<Probe> } = {
          alive: starting,
          ready: starting
        }
        const stopping = Effect.succeed(probeFailed("the replica is stopping"))
        const probes = Probes.of({
          metrics,
          dashboard: makeDashboardSource(),
          alive: Effect.suspend(() => current.alive),
          ready: Effect.suspend(() => current.ready),
          attach: (health) =>
            Effect.acquireRelease(
              Effect.sync(() => {
                current = health
              }),
              () =>
                Effect.sync(() => {
                  current = { alive: stopping, ready: stopping }
                })
            )
        })
        if (http !== undefined) yield* serveHttp(http, probes)
        return probes
      })
    )
}

/** The replica's metrics: its process's (`Probes`) when there is one, else a registry of its own. */
export const metricsLayer: Layer.Layer<never> = Layer.effect(ReplicaMetrics)(
  Effect.gen(function*() {
    const probes = yield* Effect.serviceOption(Probes)
    if (Option.isSome(probes)) return probes.value.metrics
    const clock = yield* Clock.Clock
    return makeReplicaMetrics(() => clock.currentTimeMillisUnsafe())
  })
)
