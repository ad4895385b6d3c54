/**
 * Everything the simulated project44 remembers between requests, shared by the
 * token endpoint, the protected resource and the admin endpoints.
 */
import type { ClientCredentials } from "./ClientAuthentication.ts"
import { type Latency, makeLatency } from "./Latency.ts"
import type { SimConfig } from "./SimConfig.ts"
import { makeTokenBucket, type TokenBucket } from "./TokenBucket.ts"
import { makeTokenRegistry, type TokenRegistry } from "./TokenRegistry.ts"

export interface Project44Counters {
  /** Every request to the token endpoint, hung ones included. */
  readonly tokenRequests: number
  readonly mints: number
  readonly rateLimited: number
  readonly badRequests: number
  /** 401s from the token endpoint. */
  readonly invalidClient: number
  readonly resourceOk: number
  /** 401s from the protected resource. */
  readonly resourceUnauthorized: number
  /** Failures answered because of `failNext` (5xx). */
  readonly serverErrors: number
}

export type MutableCounters = { -readonly [K in keyof Project44Counters]: number }

export interface SimState {
  readonly config: SimConfig
  readonly counters: MutableCounters
  readonly bucket: TokenBucket
  readonly registry: TokenRegistry
  readonly latency: Latency
  credentials: ClientCredentials
  hang: boolean
  /** Answers the token endpoint owes as failures (`failNext`), with their status. */
  failures: { readonly remaining: number; readonly status: number }
}

export const zeroCounters = (): MutableCounters => ({
  tokenRequests: 0,
  mints: 0,
  rateLimited: 0,
  badRequests: 0,
  invalidClient: 0,
  resourceOk: 0,
  resourceUnauthorized: 0,
  serverErrors: 0
})

export const makeSimState = (config: SimConfig): SimState => {
  // Monotonic: lifetimes and refills must not jump with the wall clock.
  const now = () => performance.now()
  return {
    config,
    counters: zeroCounters(),
    bucket: makeTokenBucket({ capacity: config.burst, refillPerMs: config.refillPerMs, now }),
    registry: makeTokenRegistry(now),
    latency: makeLatency(config.latencyMs),
    credentials: { clientId: config.clientId, clientSecret: config.clientSecret },
    hang: false,
    failures: { remaining: 0, status: 503 }
  }
}
