/**
 * How much of a provider's rate budget is left at a moment, read with the
 * leader's own rule (`take` in RateBudget.ts) rather than a second copy of
 * it: the calls the leader could make now, one after the other, before it
 * would have to wait, and when the next one after those is granted. So the
 * window, the bunching bound (`burst`), a 429's block and a clock behind the
 * state's all count exactly as they do for the leader.
 */
import { type BudgetState, type RateLimit, take } from "@tokenbus/core"

export interface BudgetLeft {
  readonly limit: RateLimit
  /** Calls that could go to the upstream now without waiting. */
  readonly left: number
  /** When the call after those `left` is granted (epoch milliseconds). */
  readonly nextAt: number
  /** Set while a 429's `Retry-After` closes the budget: until when. */
  readonly blockedUntil: number | undefined
}

export const budgetLeft = (limit: RateLimit, state: BudgetState | undefined, now: number): BudgetLeft => {
  const blockedUntil = state?.blockedUntil !== undefined && state.blockedUntil > Math.max(now, state.at)
    ? state.blockedUntil
    : undefined
  let current = state
  // `take` grants at most `tokens` calls at one moment, so this ends by then; the bound is for a broken limit.
  for (let left = 0; left <= limit.tokens; left++) {
    const grant = take(limit, current, now)
    if (grant._tag === "Wait") return { limit, left, nextAt: grant.until, blockedUntil }
    current = grant.state
  }
  return { limit, left: limit.tokens, nextAt: now, blockedUntil }
}
