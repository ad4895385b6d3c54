/**
 * The series only the leader of a provider has, kept in plain maps and made
 * on scrape: `tokenbus_leader` (1) and `tokenbus_leader_term` for each
 * provider this replica leads, and `tokenbus_budget_remaining`, worked out
 * at scrape time from the budget the leader last wrote, so calls leave the
 * window as time passes with no timer. At 10,000 providers a replica holds
 * entries for its share only, and `leading` is one map write.
 */
import type { BudgetState, RateLimit } from "@tokenbus/core"
import { Gauge, type Registry } from "prom-client"

export interface LeaderTables {
  readonly terms: Map<string, number>
  readonly budgets: Map<string, { readonly limit: RateLimit; readonly state: BudgetState | undefined }>
  readonly now: () => number
}

/** Calls still free in the window at `now`, as core's RateBudget counts them; a 429 block leaves none. */
export const remaining = (limit: RateLimit, state: BudgetState | undefined, now: number): number => {
  if (state === undefined) return limit.tokens
  if (state.blockedUntil !== undefined && state.blockedUntil > now) return 0
  if (!("calls" in state)) return Math.min(limit.tokens, Math.floor(state.available))
  const live = state.calls.filter((call) => call > now - limit.windowMillis).length
  return Math.max(0, limit.tokens - live)
}

export const registerLeaderSeries = (registers: Array<Registry>, { budgets, now, terms }: LeaderTables): void => {
  new Gauge({
    name: "tokenbus_budget_remaining",
    help: "Upstream calls the rate budget's window allows now, on the replica leading the provider",
    labelNames: ["provider"] as const,
    registers,
    collect() {
      this.reset()
      const at = now()
      for (const [provider, { limit, state }] of budgets) this.set({ provider }, remaining(limit, state, at))
    }
  })
  new Gauge({
    name: "tokenbus_leader",
    help: "1 for each provider this replica leads (only those: sum by provider to find the leader)",
    labelNames: ["provider"] as const,
    registers,
    collect() {
      this.reset()
      for (const provider of terms.keys()) this.set({ provider }, 1)
    }
  })
  new Gauge({
    name: "tokenbus_leader_term",
    help: "The term this replica leads each provider at",
    labelNames: ["provider"] as const,
    registers,
    collect() {
      this.reset()
      for (const [provider, term] of terms) this.set({ provider }, term)
    }
  })
}
