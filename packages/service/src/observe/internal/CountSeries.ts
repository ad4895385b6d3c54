/**
 * The series made from the request path's plain counts (ProviderCounts.ts)
 * when `/metrics` is scraped: each collect sets the counter to the count,
 * so between scrapes a served token costs an addition and nothing else.
 */
import { Counter, type Registry } from "prom-client"
import type { makeCountsTable, ProviderCounts } from "./ProviderCounts.ts"

type Counts = ReturnType<typeof makeCountsTable>

/** A counter with a `provider` label, set on scrape to `read` of each provider's counts. */
const perProvider = (
  registers: Array<Registry>,
  counts: Counts,
  name: string,
  help: string,
  read: (c: ProviderCounts) => number
) =>
  new Counter({
    name,
    help,
    labelNames: ["provider"] as const,
    registers,
    collect() {
      this.reset()
      for (const [provider, c] of counts.entries()) this.inc({ provider }, read(c))
    }
  })

export const registerCountSeries = (registers: Array<Registry>, counts: Counts): void => {
  new Counter({
    name: "tokenbus_tokens_served_total",
    help: "Tokens this replica answered consumers with, by provider and where it had them from",
    labelNames: ["provider", "source"] as const,
    registers,
    collect() {
      this.reset()
      for (const [provider, c] of counts.entries()) {
        this.inc({ provider, source: "cache" }, c.cache)
        this.inc({ provider, source: "kv" }, c.kv)
        this.inc({ provider, source: "leader" }, c.leader)
      }
    }
  })
  perProvider(
    registers,
    counts,
    "tokenbus_cache_hits_total",
    "Requests this replica answered from its memory",
    (c) => c.cache
  )
  perProvider(
    registers,
    counts,
    "tokenbus_cache_misses_total",
    "Requests this replica could not answer from its memory (it read KV or asked the leader)",
    (c) => c.misses
  )
  perProvider(
    registers,
    counts,
    "tokenbus_unauthorized_reports_total",
    "401 reports this replica received from consumers",
    (c) => c.reports
  )
}
