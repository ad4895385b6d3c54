/**
 * What a replica's dashboard pages are fed, one reader per replica however
 * many pages are open: the cluster's status (ReadStatus.ts, the data behind
 * `tokenbus status`) read from KV once a second, the events `tokenbus watch`
 * prints (WatchEvents.ts), and this replica's own count of 401 reports,
 * which becomes an `unauthorized` event when it grows. The reader runs only
 * while a page is connected, and a page that reads slowly loses its oldest
 * messages rather than make the replica hold them (internal/SharedReader.ts):
 * the next snapshot makes it whole again. Nothing here carries a token or a
 * secret: the status and the events are read through views that have none.
 */
import { defaultRateLimit } from "@tokenbus/core"
import type { NatsConnection } from "@tokenbus/nats"
import { Effect, Schedule, type Scope, Stream } from "effect"
import { ReplicaContext } from "../replica/ReplicaContext.ts"
import type { ClusterStatus, ProviderLimit } from "../status/ClusterStatus.ts"
import { readStatus } from "../status/ReadStatus.ts"
import type { StatusEvent } from "../status/StatusEvent.ts"
import { openWatch } from "../status/WatchEvents.ts"
import { type Publisher, shareReader } from "./internal/SharedReader.ts"
import { ReplicaMetrics } from "./ReplicaMetrics.ts"

/** 401 reports this replica received for a provider since the last snapshot. */
export interface UnauthorizedEvent {
  readonly event: "unauthorized"
  readonly at: string
  readonly provider: string
  readonly count: number
  /** All this replica received for it since it started. */
  readonly total: number
}

export interface DashboardSnapshot {
  /** The replica serving the page. */
  readonly self: string
  readonly status: ClusterStatus
  /** 401 reports this replica received, per provider, since it started. */
  readonly reports: Readonly<Record<string, number>>
}

export type DashboardMessage =
  | { readonly _tag: "status"; readonly snapshot: DashboardSnapshot }
  | { readonly _tag: "event"; readonly event: StatusEvent | UnauthorizedEvent }

export interface DashboardFeed {
  /** One page's messages, from the last snapshot on, until the page goes or the replica stops. */
  readonly messages: Stream.Stream<DashboardMessage>
}

export interface FeedTiming {
  readonly snapshotMillis: number
  /** How long the reader stays after the last page went. */
  readonly idleMillis: number
  /** The messages a page may fall behind by before its oldest are dropped. */
  readonly backlog: number
}

export const defaultFeedTiming: FeedTiming = { snapshotMillis: 1_000, idleMillis: 15_000, backlog: 256 }

const reportsMetric = "tokenbus_unauthorized_reports_total"

/** This replica's 401 reports per provider, read from its own registry. */
const reportCounts = Effect.gen(function*() {
  const metrics = yield* ReplicaMetrics
  const metric = metrics.registry.getSingleMetric(reportsMetric)
  if (metric === undefined) return {}
  const { values } = yield* Effect.promise(() => Promise.resolve(metric.get()))
  const counts: Record<string, number> = {}
  for (const { labels, value } of values) {
    if (typeof labels["provider"] === "string") counts[labels["provider"]] = value
  }
  return counts
})

/** The events of the reports counted since `before`. */
const newReports = (before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>, at: string) =>
  Object.entries(after).flatMap(([provider, total]): Array<UnauthorizedEvent> => {
    const count = total - (before[provider] ?? 0)
    return count > 0 ? [{ event: "unauthorized", at, provider, count, total }] : []
  })

/** The reader: publishes until its scope closes (see the module comment). */
const runReader = Effect.fnUntraced(function*(hub: Publisher<DashboardMessage>, timing: FeedTiming) {
  const { config, replicaId } = yield* ReplicaContext
  const limits = new Map(config.providers.map((p) => [p.id, { limit: p.rateLimit, from: "config" } as const]))
  const limitOf = (provider: string): ProviderLimit =>
    limits.get(provider) ?? { limit: defaultRateLimit, from: "default" }
  const query = { prefix: config.prefix, providers: config.providers.map((p) => p.id), limitOf }
  let reports = yield* reportCounts
  const snapshot = Effect.gen(function*() {
    const status = yield* readStatus(query)
    const counts = yield* reportCounts
    const events = newReports(reports, counts, status.at)
    reports = counts
    for (const event of events) yield* hub.publish({ _tag: "event", event })
    yield* hub.publishLatest({ _tag: "status", snapshot: { self: replicaId, status, reports: counts } })
  }).pipe(Effect.catch((error) => Effect.logDebug("dashboard: status not read", error.message)))
  yield* snapshot.pipe(Effect.repeat(Schedule.spaced(timing.snapshotMillis)), Effect.forkScoped)
  const watch = Effect.scoped(Effect.gen(function*() {
    const events = yield* openWatch({ prefix: config.prefix, limitOf })
    yield* Stream.runForEach(events, (event) => hub.publish({ _tag: "event", event }))
  }))
  yield* watch.pipe(
    Effect.tapError((error) => Effect.logDebug("dashboard: watch interrupted", error.message)),
    Effect.retry(Schedule.spaced(timing.snapshotMillis)),
    Effect.forkScoped
  )
})

/** The feed of this replica (see the module comment), for as long as the scope lasts. */
export const makeDashboardFeed = (
  timing: FeedTiming = defaultFeedTiming
): Effect.Effect<DashboardFeed, never, Scope.Scope | NatsConnection | ReplicaContext> =>
  Effect.map(
    shareReader<DashboardMessage, NatsConnection | ReplicaContext>((hub) => runReader(hub, timing), timing),
    (messages) => ({ messages })
  )
