/**
 * The upstream's rate limit as a token bucket: `burst` calls at once, refilled
 * at `tokens` per `windowMillis`. The bucket's state lives in KV with the
 * provider's token and only the leader takes from it, so a new leader
 * inherits what the old one spent and no sequence of failovers can exceed
 * the limit. A 429's `Retry-After` closes the bucket until the time it names.
 *
 * Time only ever helps the bucket by moving forward: if this replica's clock
 * is behind the one that last wrote the state, nothing refills until it
 * catches up.
 */
import { Schema } from "effect"
import { Millis, PositiveInt } from "./Fields.ts"

export const RateLimit = Schema.Struct({
  tokens: PositiveInt,
  windowMillis: PositiveInt,
  burst: PositiveInt
})
export type RateLimit = typeof RateLimit.Type

/** project44's documented limit: 5 tokens a minute; tokenbus keeps its burst within theirs. */
export const defaultRateLimit: RateLimit = { tokens: 5, windowMillis: 60_000, burst: 5 }

export const BudgetState = Schema.Struct({
  available: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)),
  at: Millis,
  blockedUntil: Schema.optionalKey(Millis)
})
export type BudgetState = typeof BudgetState.Type

export type BudgetGrant =
  | { readonly _tag: "Granted"; readonly state: BudgetState }
  | { readonly _tag: "Wait"; readonly until: number }

/** The bucket as it stands at `now`; a bucket never seen before is full. */
export const refill = (limit: RateLimit, state: BudgetState | undefined, now: number): BudgetState => {
  if (state === undefined) return { available: limit.burst, at: now }
  const elapsed = Math.max(0, now - state.at)
  const available = Math.min(limit.burst, state.available + (elapsed * limit.tokens) / limit.windowMillis)
  return { ...state, available, at: Math.max(now, state.at) }
}

/** Takes one call from the bucket, or says when one will be available. */
export const take = (limit: RateLimit, state: BudgetState | undefined, now: number): BudgetGrant => {
  const current = refill(limit, state, now)
  const blockedUntil = current.blockedUntil ?? 0
  if (current.available >= 1 && now >= blockedUntil) {
    const { blockedUntil: _, ...open } = current
    return { _tag: "Granted", state: { ...open, available: current.available - 1 } }
  }
  const refilledAt = current.at + ((1 - current.available) * limit.windowMillis) / limit.tokens
  return { _tag: "Wait", until: Math.ceil(Math.max(blockedUntil, refilledAt, now)) }
}

/** The upstream said 429: no calls before `until`, whatever the bucket holds. */
export const block = (limit: RateLimit, state: BudgetState | undefined, now: number, until: number): BudgetState => {
  const current = refill(limit, state, now)
  return { ...current, blockedUntil: Math.max(until, current.blockedUntil ?? 0) }
}
