/**
 * A continuously refilled token bucket, the rate limiter the simulated
 * project44 gateway puts in front of its token endpoint. Refill is computed
 * lazily from elapsed time on each `take`, so no timers keep the process alive.
 */

export type TakeResult =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterMs: number }

export interface TokenBucket {
  readonly take: () => TakeResult
}

export interface TokenBucketOptions {
  readonly capacity: number
  /** Units added per millisecond of `now()` time. */
  readonly refillPerMs: number
  readonly now: () => number
}

export const makeTokenBucket = (options: TokenBucketOptions): TokenBucket => {
  const { capacity, refillPerMs, now } = options
  let available = capacity
  let lastRefill = now()

  const refill = (): void => {
    const current = now()
    available = Math.min(capacity, available + (current - lastRefill) * refillPerMs)
    lastRefill = current
  }

  const take = (): TakeResult => {
    refill()
    if (available >= 1) {
      available -= 1
      return { allowed: true }
    }
    return { allowed: false, retryAfterMs: (1 - available) / refillPerMs }
  }

  return { take }
}
