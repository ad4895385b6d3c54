/**
 * What a new leader rebuilds when the provider's state in KV is gone (the
 * tokens bucket was deleted and created again) while its replica still holds
 * the provider's token from the broadcast. It adopts that token instead of
 * minting (a mint would spend the upstream's budget, and for a rotating
 * refresh token it would replay the configured one, long spent). What else
 * was lost is assumed the worst way: the calls of the last window were all
 * made just now, and a carry that a call spends is recorded as possibly
 * spent, so the kind's `lostAnswer` rule applies (stop and say which secret
 * to renew, or log in again).
 */
import type { ProviderState, StoredToken } from "./ProviderState.ts"
import type { RateLimit } from "./RateBudget.ts"
import type { LostAnswerPolicy } from "./UnconfirmedCall.ts"
import type { Token } from "./Token.ts"

export interface LostStateInput {
  readonly token: Token
  readonly limit: RateLimit
  readonly policy: LostAnswerPolicy
  readonly now: number
  /** Whose rebuild this is: named in the record of the lost carry. */
  readonly fence: { readonly holder: string; readonly term: number }
}

/** Who the record of a lost carry names: no leader's call, the state itself was lost. */
export const lostStateHolder = "nobody: the provider's state in KV was lost"

export const rebuildLostState = ({ fence, limit, now, policy, token }: LostStateInput): ProviderState => {
  const { provider: _, ...record } = token
  const stored: StoredToken = { ...record }
  return {
    token: stored,
    budget: { calls: Array.from({ length: limit.tokens }, () => now), at: now },
    ...(policy === undefined ? {} : { unconfirmed: { since: now, holder: lostStateHolder, term: fence.term } })
  }
}
