/**
 * The upstream's rate limit as a rolling window: no span of `windowMillis`
 * ever holds more than `tokens` calls, which is how project44 states its limit
 * ("no more than 5 tokens within a minute"). `burst` bounds how tightly calls
 * may bunch: at most `burst` of them within any `windowMillis / tokens`. Left
 * out, or at `tokens` or above, only the window counts; the default (5 a
 * minute, burst 5) lets all five of a minute go at once and never a sixth.
 *
 * The state is the times of the calls that still count (those of the last
 * window, at most `tokens` of them). It lives in KV with the provider's token
 * and only the leader takes from it, so a new leader inherits what the old one
 * spent and no sequence of failovers can exceed the limit. A 429's
 * `Retry-After` closes it until the time it names.
 *
 * Time only ever helps by moving forward: the state keeps the latest time any
 * writer saw (`at`), and a replica whose clock is behind it acts as if it were
 * that time, so nothing is freed before its clock catches up, and the calls it
 * makes meanwhile are counted from `at`.
 *
 * Earlier versions kept a token bucket (`available` calls at `at`, refilled at
 * `tokens` per `windowMillis` up to `burst`). Such a state is read as the
 * latest calls that bucket could have let through: at most `burst - available
 * + tokens * d / windowMillis` of them fell in the `d` before `at`, so the
 * j-th latest is placed at `at - (j - burst + available) * windowMillis /
 * tokens`, or at `at` when that is later. This is never looser than the calls
 * really made, and frees the budget within one window.
 */
import { Schema } from "effect"
import { Millis, PositiveInt } from "./Fields.ts"

export const RateLimit = Schema.Struct({
  tokens: PositiveInt,
  windowMillis: PositiveInt,
  burst: Schema.optionalKey(PositiveInt)
})
export type RateLimit = typeof RateLimit.Type

/** project44's documented limit: 5 tokens within any minute, all at once if need be. */
export const defaultRateLimit: RateLimit = { tokens: 5, windowMillis: 60_000, burst: 5 }

export const BudgetWindow = Schema.Struct({
  /** The times of the calls that still count, oldest first. */
  calls: Schema.Array(Millis),
  at: Millis,
  blockedUntil: Schema.optionalKey(Millis)
})
export type BudgetWindow = typeof BudgetWindow.Type

/** The token bucket earlier versions wrote to KV; read as the module comment says. */
export const LegacyBudget = Schema.Struct({
  available: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)),
  at: Millis,
  blockedUntil: Schema.optionalKey(Millis)
})
export type LegacyBudget = typeof LegacyBudget.Type

export const BudgetState = Schema.Union([BudgetWindow, LegacyBudget])
export type BudgetState = typeof BudgetState.Type

export type BudgetGrant =
  | { readonly _tag: "Granted"; readonly state: BudgetWindow }
  | { readonly _tag: "Wait"; readonly until: number }

/** Takes one call from the budget, or says the earliest moment one will be granted. */
export const take = (limit: RateLimit, state: BudgetState | undefined, now: number): BudgetGrant => {
  const current = settle(limit, state, now)
  const until = openAt(limit, current)
  if (until > current.at) return { _tag: "Wait", until }
  return { _tag: "Granted", state: { calls: [...current.calls, current.at].slice(-limit.tokens), at: current.at } }
}

/**
 * The upstream said 429: no calls before `until`, whatever the window holds.
 * On a clock behind the state's, the block lasts as long from the state's `at`.
 */
export const block = (limit: RateLimit, state: BudgetState | undefined, now: number, until: number): BudgetWindow => {
  const current = settle(limit, state, now)
  const blockedUntil = Math.max(until + current.at - now, current.blockedUntil ?? 0)
  return blockedUntil > current.at ? { ...current, blockedUntil } : current
}

/** The state as it stands at `now`, on the latest clock any writer saw, with only the calls that still count. */
const settle = (limit: RateLimit, state: BudgetState | undefined, now: number): BudgetWindow => {
  if (state === undefined) return { calls: [], at: now }
  const calls = "calls" in state ? [...state.calls].sort((a, b) => a - b) : fromBucket(limit, state)
  const at = Math.max(now, state.at, calls[calls.length - 1] ?? 0)
  const live = calls.filter((call) => call > at - limit.windowMillis).slice(-limit.tokens)
  const blocked = state.blockedUntil !== undefined && state.blockedUntil > at
  return blocked ? { calls: live, at, blockedUntil: state.blockedUntil } : { calls: live, at }
}

/** The earliest moment another call fits the window, the bunching bound and any block. */
const openAt = (limit: RateLimit, state: BudgetWindow): number => {
  const nthLatest = (n: number): number | undefined => state.calls[state.calls.length - n]
  const windowFull = nthLatest(limit.tokens)
  const bunched = nthLatest(Math.min(limit.burst ?? limit.tokens, limit.tokens))
  return Math.max(
    state.blockedUntil ?? 0,
    windowFull === undefined ? 0 : windowFull + limit.windowMillis,
    bunched === undefined ? 0 : Math.ceil(bunched + limit.windowMillis / limit.tokens)
  )
}

/** The latest calls an earlier version's bucket may have let through, oldest first (see the module comment). */
const fromBucket = (limit: RateLimit, bucket: LegacyBudget): ReadonlyArray<number> => {
  const unrefilled = (limit.burst ?? limit.tokens) - bucket.available
  const perCall = limit.windowMillis / limit.tokens
  return Array.from({ length: limit.tokens }, (_, i) => {
    const j = limit.tokens - i
    return Math.max(0, Math.ceil(bucket.at - Math.max(0, (j - unrefilled) * perCall)))
  })
}
