/**
 * Delays between attempts at a failing upstream: exponential from `baseMillis`,
 * capped at `capMillis`, with "equal jitter" (half fixed, half random) so
 * deployments that failed together do not retry in step, while a retry is
 * never much sooner than planned. `random` is in [0, 1), passed in to keep
 * this pure.
 */
import { Schema } from "effect"
import { PositiveInt } from "./Fields.ts"

export const RetryPolicy = Schema.Struct({
  /** Attempts per mint, the first included; every attempt counts against the rate budget. */
  attempts: PositiveInt,
  baseMillis: PositiveInt,
  capMillis: PositiveInt
})
export type RetryPolicy = typeof RetryPolicy.Type

export const defaultRetryPolicy: RetryPolicy = { attempts: 4, baseMillis: 500, capMillis: 30_000 }

/** The delay before attempt `attempt + 1`, after `attempt` (1-based) attempts failed. */
export const backoffDelay = (policy: RetryPolicy, attempt: number, random: number): number => {
  const ceiling = Math.min(policy.capMillis, policy.baseMillis * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + (ceiling / 2) * random)
}
