/**
 * Everything the leader of a provider keeps in KV, under one key, so that a
 * single compare-and-set commits it all at once: the token, what the next
 * mint needs (`carry`), the rate budget, the circuit breaker, the fence, and
 * a call under way that may have spent the carry (`unconfirmed`).
 *
 * The fence names the leader that wrote last and its term (`termOf`: the
 * lock's revision when it took the lock, in the leases bucket's generation;
 * terms only grow). A new leader writes its fence before anything else. From
 * then on, a deposed leader's write fails (its expected revision is gone)
 * and, reading the state again, it finds a higher term than its own and
 * steps down.
 *
 * A token's version is given by the leader that commits it (`nextVersion` in
 * Token.ts) and written with it; later writes that keep the token (budget,
 * breaker, fence) keep that version, so consumers see a new version only for
 * a new token.
 *
 * Decoding reads what earlier versions wrote: a state without a fence has not
 * been fenced by any leader ("unfenced"), a token without `version` has the
 * revision of the write that introduced it (as versions were then), a fence
 * whose term is a bare revision is older than any term of a generation, and
 * a budget in the token-bucket form is read as RateBudget.ts says. Fields
 * this version does not know are dropped.
 */
import { Schema } from "effect"
import { Millis, Version } from "./Fields.ts"
import { BudgetState } from "./RateBudget.ts"
import { TokenRecord } from "./Token.ts"

export const StoredToken = Schema.Struct({
  ...TokenRecord.fields,
  /**
   * Absent in states written before versions were given explicitly: the
   * token's version is then the revision of the write that introduced it.
   */
  version: Schema.optionalKey(Version)
})
export type StoredToken = typeof StoredToken.Type

export const Fence = Schema.Struct({
  holder: Schema.String,
  term: Schema.Int,
  /**
   * Written by a leader handing the provider over (it moved to another
   * member) once its mint under way, if any, has ended: the next leader may
   * take over now. Older versions drop it, and wait out the handover time.
   */
  released: Schema.optionalKey(Schema.Literal(true))
})
export type Fence = typeof Fence.Type

/**
 * A leader's term: the revision of the lock it took, within the generation
 * of the leases bucket (when its stream was created, epoch milliseconds of
 * the server's clock). Deleting and creating that bucket again restarts its
 * revisions at 1, so the generation counts first: a term of a later bucket
 * is above every term of an earlier one as long as the server's clock moved
 * forward between the two creations and the earlier bucket took fewer than
 * 1000 lock writes per millisecond of its life. Terms written when a term
 * was the bare revision (generation 0) are below all of them. Safe integers
 * until the year 2255.
 */
export const termOf = (generation: number, revision: number): number => generation * 1000 + revision

export const Breaker = Schema.Struct({
  reason: Schema.String,
  since: Millis,
  /** A hash of the provider's configuration and secrets when it tripped; a change clears it. */
  fingerprint: Schema.String
})
export type Breaker = typeof Breaker.Type

/**
 * An upstream call that may have spent the carry (a rotating refresh token)
 * and whose answer was never committed: written with the budget before the
 * call, cleared by the commit or by an answer that spent nothing. A leader
 * finding one does not replay the carry (see ProviderKind's `lostAnswer`).
 */
export const Unconfirmed = Schema.Struct({
  since: Millis,
  holder: Schema.String,
  term: Schema.Int
})
export type Unconfirmed = typeof Unconfirmed.Type

export const ProviderState = Schema.Struct({
  token: Schema.optionalKey(StoredToken),
  carry: Schema.optionalKey(Schema.RedactedFromValue(Schema.String)),
  budget: Schema.optionalKey(BudgetState),
  breaker: Schema.optionalKey(Breaker),
  fence: Schema.optionalKey(Fence),
  unconfirmed: Schema.optionalKey(Unconfirmed)
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
