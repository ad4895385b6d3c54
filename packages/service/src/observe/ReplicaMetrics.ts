/**
 * What one replica counts, as Prometheus metrics in a registry of its own
 * (a process may run several replicas, each scraped apart): tokens served by
 * source, cache hits and misses, mints by reason and outcome, upstream call
 * latency, the rate budget left, which providers it leads, 401 reports and
 * how they were deduplicated, how late updates arrive, and the circuit
 * breaker. The request path only adds to plain numbers (ProviderCounts.ts)
 * and what is kept per provider is read on scrape, so neither a `get` nor
 * 10,000 providers cost anything between scrapes.
 *
 * It is a `Context.Reference`: parts that record find it without declaring
 * it, and code run without one (a part built alone in a test) counts into
 * the process's default one. `Replica.parts` gives each replica its own
 * (`Probes.metricsLayer`).
 */
import type { BudgetState, MintReason, RateLimit } from "@tokenbus/core"
import { Context } from "effect"
import { Counter, Gauge, Histogram, Registry } from "prom-client"
import { registerCountSeries } from "./internal/CountSeries.ts"
import { type LeaderTables, registerLeaderSeries } from "./internal/LeaderSeries.ts"
import { makeCountsTable } from "./internal/ProviderCounts.ts"

export type ServedFrom = "cache" | "kv" | "leader"

/** How a 401 report was answered without a mint of its own. */
export type Deduplicated =
  | "newer-held" // this replica held a newer token than the one reported
  | "joined-question" // this replica was already asking the leader the same question
  | "joined-mint" // the leader had a mint under way
  | "served-current" // the leader's token was already newer than the report

export type MintOutcome = "committed" | "rejected" | "unavailable" | "lost-leadership" | "interrupted"

export interface ReplicaMetricsShape {
  readonly registry: Registry
  /** The hot path: one token served (a counter bump). */
  readonly served: (provider: string, source: ServedFrom) => void
  /** A request this replica could not answer from memory. */
  readonly missed: (provider: string) => void
  readonly unauthorizedReceived: (provider: string) => void
  readonly deduplicated: (provider: string, how: Deduplicated) => void
  readonly minted: (provider: string, reason: MintReason, outcome: MintOutcome) => void
  /** One upstream call of a mint: how long it took and how it ended (`ok` or the `UpstreamError` kind). */
  readonly upstreamCall: (provider: string, seconds: number, outcome: string) => void
  /** The budget as the leader last wrote it: what is left is worked out at scrape time. */
  readonly budget: (provider: string, limit: RateLimit, state: BudgetState | undefined) => void
  readonly breaker: (provider: string, open: boolean) => void
  /** A new token reached this replica's cache by broadcast, `seconds` after its version was chosen. */
  readonly broadcastLag: (seconds: number) => void
  /** This replica now leads `provider` at `term`: the lead engineer's leadership code calls this. */
  readonly leading: (provider: string, term: number) => void
  /** This replica no longer leads `provider`; its leader-only series (budget, breaker) go with it. */
  readonly notLeading: (provider: string) => void
  /** The term this replica leads `provider` at; undefined when it does not lead it. */
  readonly termOf: (provider: string) => number | undefined
}

const lagBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const upstreamBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** A registry of its own; `now` is the clock the budget left is read at (the replica's, on scrape). */
export const makeReplicaMetrics = (now: () => number = Date.now): ReplicaMetricsShape => {
  const registry = new Registry()
  const registers = [registry]
  const counts = makeCountsTable()
  const terms = new Map<string, number>()
  const budgets: LeaderTables["budgets"] = new Map()
  registerCountSeries(registers, counts)
  registerLeaderSeries(registers, { terms, budgets, now })
  const deduplicated = new Counter({
    name: "tokenbus_unauthorized_deduplicated_total",
    help: "401 reports answered without a mint of their own, by how",
    labelNames: ["provider", "how"] as const,
    registers
  })
  const mints = new Counter({
    name: "tokenbus_mints_total",
    help: "Mints this replica ran as leader, by provider, reason and outcome",
    labelNames: ["provider", "reason", "outcome"] as const,
    registers
  })
  const upstream = new Histogram({
    name: "tokenbus_upstream_call_seconds",
    help: "Time of each upstream call of a mint, by provider and outcome",
    labelNames: ["provider", "outcome"] as const,
    buckets: upstreamBuckets,
    registers
  })
  const lag = new Histogram({
    name: "tokenbus_broadcast_lag_seconds",
    help: "From a token's version (chosen at its commit) to this replica receiving its update",
    buckets: lagBuckets,
    registers
  })
  const breaker = new Gauge({
    name: "tokenbus_breaker_open",
    help: "1 while the provider's circuit breaker holds, on the replica leading it",
    labelNames: ["provider"] as const,
    registers
  })

  return {
    registry,
    served: (provider, source) => void (counts.of(provider)[source] += 1),
    missed: (provider) => void (counts.of(provider).misses += 1),
    unauthorizedReceived: (provider) => void (counts.of(provider).reports += 1),
    deduplicated: (provider, how) => deduplicated.inc({ provider, how }),
    minted: (provider, reason, outcome) => mints.inc({ provider, reason, outcome }),
    upstreamCall: (provider, seconds, outcome) => upstream.observe({ provider, outcome }, seconds),
    budget: (provider, limit, state) => void budgets.set(provider, { limit, state }),
    breaker: (provider, open) => breaker.set({ provider }, open ? 1 : 0),
    broadcastLag: (seconds) => lag.observe(Math.max(0, seconds)),
    leading: (provider, term) => void terms.set(provider, term),
    notLeading: (provider) => {
      terms.delete(provider)
      budgets.delete(provider)
      breaker.remove({ provider })
    },
    termOf: (provider) => terms.get(provider)
  }
}

export const ReplicaMetrics = Context.Reference<ReplicaMetricsShape>("@tokenbus/service/ReplicaMetrics", {
  defaultValue: () => makeReplicaMetrics()
})
