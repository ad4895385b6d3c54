/**
 * The counts the request path keeps per provider: plain numbers in a plain
 * record, bumped with `+=` and turned into Prometheus series only when
 * `/metrics` is scraped, so answering a `get` from memory costs one map look-up
 * and an addition, not a label look-up.
 */
export interface ProviderCounts {
  /** Tokens answered from this replica's memory (plain gets, and 401s answered with a newer token held). */
  cache: number
  /** Tokens this replica read from KV because it held none. */
  kv: number
  /** Tokens this replica had from the provider's leader. */
  leader: number
  /** Requests this replica could not answer from memory. */
  misses: number
  /** 401 reports this replica received. */
  reports: number
}

export const makeCountsTable = () => {
  const table = new Map<string, ProviderCounts>()
  /** The provider's record, made on its first count (only configured providers reach the counters). */
  const of = (provider: string): ProviderCounts => {
    const found = table.get(provider)
    if (found !== undefined) return found
    const fresh = { cache: 0, kv: 0, leader: 0, misses: 0, reports: 0 }
    table.set(provider, fresh)
    return fresh
  }
  return { of, entries: () => table.entries() }
}
