/**
 * What a leader does with the carry when an earlier upstream call may have
 * spent it: a call whose answer was never committed (the leader died or was
 * paused between the upstream's answer and its commit) leaves an
 * `unconfirmed` record in the provider's state. Replaying a rotated refresh
 * token is what makes an upstream revoke the whole grant, so a kind whose
 * carry rotates stops instead, and one that can log in again does so.
 */
import type { ProviderState, Unconfirmed } from "./ProviderState.ts"

/** How a kind recovers from a lost answer; absent: its carry is not spent by a call. */
export type LostAnswerPolicy = "log-in-again" | "stop" | undefined

export type CarryDecision<C> =
  /** Mint with this carry (undefined: from the configuration alone). */
  | { readonly _tag: "Use"; readonly carry: C | undefined }
  /** Do not call the upstream: the carry may be spent. */
  | { readonly _tag: "Stop"; readonly unconfirmed: Unconfirmed }

export const decideCarry = <C>(
  policy: LostAnswerPolicy,
  state: Pick<ProviderState, "unconfirmed"> & { readonly carry?: C }
): CarryDecision<C> => {
  const { carry, unconfirmed } = state
  if (unconfirmed === undefined || policy === undefined) return { _tag: "Use", carry }
  return policy === "stop" ? { _tag: "Stop", unconfirmed } : { _tag: "Use", carry: undefined }
}

/** Whether a call made with `carry` must be recorded before it is made. */
export const recordsCall = (policy: LostAnswerPolicy, carry: unknown): boolean =>
  policy !== undefined && carry !== undefined
