/**
 * Lease timing for leader election. The lock lives in a KV bucket whose TTL
 * is the lease length; each acquire or renew restarts the server's timer no
 * earlier than the moment the request was sent. Counting from the send time,
 * less a safety margin for clock drift and scheduling delays, gives a moment
 * before which no other replica can hold the lock. The leader stops minting
 * at that moment unless a renewal has succeeded since.
 *
 * Times here are on a monotonic clock (elapsed time, arbitrary origin), not
 * the wall clock: a wall-clock step must neither end a lease nor stretch one.
 */
import { Schema } from "effect"
import { NonNegativeInt, PositiveInt } from "./Fields.ts"

export const LeaseConfig = Schema.Struct({
  ttlMillis: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1000)),
  renewEveryMillis: PositiveInt,
  safetyMarginMillis: NonNegativeInt
})
export type LeaseConfig = typeof LeaseConfig.Type

/**
 * One member lease per replica, whatever the number of providers, so it can
 * be short: a dead leader's providers move within about 1.5 s, and a
 * replica whose event loop stalls for up to about 700 ms keeps its lease.
 */
export const defaultLeaseConfig: LeaseConfig = { ttlMillis: 1500, renewEveryMillis: 300, safetyMarginMillis: 500 }

/**
 * A held lease: the lock's KV revision and when (monotonic milliseconds) the
 * request that wrote that revision was sent.
 */
export interface Lease {
  readonly revision: number
  readonly sentAt: number
}

/** The last moment at which the holder may still act as leader. */
export const validUntil = (config: LeaseConfig, lease: Lease): number =>
  lease.sentAt + config.ttlMillis - config.safetyMarginMillis

export const renewDueAt = (config: LeaseConfig, lease: Lease): number => lease.sentAt + config.renewEveryMillis

/** Why a lease configuration cannot be safe, or undefined when it can. */
export const leaseConfigProblem = (config: LeaseConfig): string | undefined => {
  if (config.safetyMarginMillis >= config.ttlMillis) return "safetyMarginMillis must be smaller than ttlMillis"
  if (config.renewEveryMillis * 2 > config.ttlMillis - config.safetyMarginMillis) {
    return "renewEveryMillis must leave room for at least two renewals before the lease, less the safety margin, runs out"
  }
  return undefined
}
