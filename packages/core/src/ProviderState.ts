/**
 * Everything the leader of a provider keeps in KV, under one key, so that a
 * single compare-and-set commits it all at once: the token, what the next
 * mint needs (`carry`), the rate budget, the circuit breaker, and the fence.
 *
 * The fence names the leader that wrote last and its term (the revision at
 * which it took the lock; terms only grow). A new leader writes its fence
 * before anything else. From then on, a deposed leader's write fails (its
 * expected revision is gone) and, reading the state again, it finds a higher
 * term than its own and steps down.
 *
 * A token's version is the revision of the write that introduced it. Later
 * writes that keep the token (budget, breaker, fence) record that version
 * explicitly, so consumers see a new version only for a new token.
 */
import { Schema } from "effect"
import { Millis, Version } from "./Fields.ts"
import { BudgetState } from "./RateBudget.ts"
import { TokenRecord } from "./Token.ts"

export const StoredToken = Schema.Struct({
  ...TokenRecord.fields,
  /** Absent on the write that introduced the token: its version is that write's revision. */
  version: Schema.optionalKey(Version)
})
export type StoredToken = typeof StoredToken.Type

export const Fence = Schema.Struct({ holder: Schema.String, term: Schema.Int })
export type Fence = typeof Fence.Type

export const Breaker = Schema.Struct({
  reason: Schema.String,
  since: Millis,
  /** A hash of the provider's configuration and secrets when it tripped; a change clears it. */
  fingerprint: Schema.String
})
export type Breaker = typeof Breaker.Type

export const ProviderState = Schema.Struct({
  token: Schema.optionalKey(StoredToken),
  carry: Schema.optionalKey(Schema.RedactedFromValue(Schema.String)),
  budget: Schema.optionalKey(BudgetState),
  breaker: Schema.optionalKey(Breaker),
  fence: Schema.optionalKey(Fence)
})
export type ProviderState = typeof ProviderState.Type

export const ProviderStateJson = Schema.fromJsonString(ProviderState)

export type FenceCheck = "ours" | "unfenced" | "deposed"

/**
 * Whose state this is, seen by the leader holding `mine`. "unfenced": written
 * by an earlier leader (or nobody), so `mine` must write its fence first.
 */
export const checkFence = (state: ProviderState, mine: Fence): FenceCheck => {
  const fence = state.fence
  if (fence === undefined || fence.term < mine.term) return "unfenced"
  return fence.term === mine.term && fence.holder === mine.holder ? "ours" : "deposed"
}
