/**
 * Each replica registers as a NATS micro service named `tokenbus` (version:
 * the service package's, metadata: its replica id and subject prefix), so
 * `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` (also `$SRV.PING.tokenbus`, `nats
 * micro ls`) list every replica of every cluster on the account. Its one
 * endpoint is `status`, on `<prefix>.replica.<replica>.status`: this
 * replica's view (providers it holds and leads, versions, expiry, whether it
 * is ready). The consumer subjects stay outside the framework: their
 * hot path answers from bytes encoded once, and a framework handler per
 * request (and its statistics) would cost the `get` throughput.
 */
import { NatsConnection } from "@tokenbus/nats"
import { Effect, Layer } from "effect"
import { annotateReplica, ReplicaContext } from "../replica/ReplicaContext.ts"
import { ReplicaMetrics } from "./ReplicaMetrics.ts"
import { serviceVersion } from "./ServiceVersion.ts"

export const serviceName = "tokenbus"

/** A replica id as one subject token: ids are UUIDs unless a test or `tokenbus dev` names them. */
const subjectToken = (id: string): string => id.replace(/[\s.*>]/g, "_")

export const statusSubject = (prefix: string, replicaId: string): string =>
  `${prefix}.replica.${subjectToken(replicaId)}.status`

export interface ProviderStatus {
  readonly id: string
  /** The version this replica holds; null when it holds none. */
  readonly version: number | null
  readonly expiresAt: number | null
  /** The term this replica leads the provider at; null when another replica leads it. */
  readonly leaderTerm: number | null
}

export interface ReplicaStatus {
  readonly replica: string
  readonly version: string
  readonly prefix: string
  readonly startedAt: number
  readonly providers: ReadonlyArray<ProviderStatus>
}

/** Registers this replica with `$SRV` until the layer's scope closes. */
export const layer: Layer.Layer<never, never, NatsConnection | ReplicaContext> = Layer.effectDiscard(
  annotateReplica(Effect.gen(function*() {
    const nats = yield* NatsConnection
    const metrics = yield* ReplicaMetrics
    const { cache, config, replicaId } = yield* ReplicaContext
    const startedAt = Date.now()
    const status = (): ReplicaStatus => ({
      replica: replicaId,
      version: serviceVersion,
      prefix: config.prefix,
      startedAt,
      providers: config.providers.map(({ id }) => {
        const token = cache.get(id)
        return {
          id,
          version: token?.version ?? null,
          expiresAt: token?.expiresAt ?? null,
          leaderTerm: metrics.termOf(id) ?? null
        }
      })
    })
    yield* nats.addService({
      name: serviceName,
      version: serviceVersion,
      description: "tokenbus replica: brokers upstream OAuth2 tokens over NATS",
      metadata: { replica: replicaId, prefix: config.prefix },
      endpoints: [{
        name: "status",
        subject: statusSubject(config.prefix, replicaId),
        metadata: { description: "this replica's view: the providers it holds and leads" },
        handle: () => JSON.stringify(status())
      }]
    }).pipe(
      // Discovery is for operators: a NATS user without `$SRV` permissions still serves tokens.
      Effect.catch((error) => Effect.logWarning("not registered for NATS service discovery").pipe(
        Effect.annotateLogs({ error: error.message })
      ))
    )
  }))
)
