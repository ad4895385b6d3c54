/**
 * How a provider's leader treats its upstream: the rate limit, retries of
 * transient failures, the circuit breaker and the renewal lifecycle. The same
 * fields for every kind, added to each kind's own by the config decoder.
 */
import { defaultRateLimit, defaultRetryPolicy, Lifecycle, RateLimit, RetryPolicy } from "@tokenbus/core"
import { Schema } from "effect"
import { withDefault } from "./ConfigFields.ts"

export const mintPolicyFields = {
  /** The upstream's rate limit, kept cluster-wide. */
  rateLimit: withDefault(RateLimit, defaultRateLimit),
  /** Retries of transient failures (5xx, timeouts) within one mint. */
  retry: withDefault(RetryPolicy, defaultRetryPolicy),
  circuitBreaker: withDefault(
    Schema.Struct({
      /** A token minted after a 401 and itself reported 401 this soon trips the breaker; 0 turns the rule off. */
      freshTokenMillis: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
    }),
    { freshTokenMillis: 5_000 }
  ),
  /** When to renew before a 401; each kind has its own default. */
  lifecycle: Schema.optionalKey(Lifecycle)
}

const MintPolicySchema = Schema.Struct(mintPolicyFields)
export type MintPolicy = typeof MintPolicySchema.Type
