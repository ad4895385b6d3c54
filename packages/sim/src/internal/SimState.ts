/**
 * Everything the simulated upstream remembers between requests, shared by the
 * token endpoint, the protected resource and the admin endpoints.
 */
import type { Project44Counters } from "../Project44Sim.ts"
import type { ClientCredentials } from "./ClientAuthentication.ts"
import type { SimConfig } from "./SimConfig.ts"
import { makeTokenBucket, type TokenBucket } from "./TokenBucket.ts"
import { makeTokenRegistry, type TokenRegistry } from "./TokenRegistry.ts"

export type MutableCounters = { -readonly [K in keyof Project44Counters]: number }

export interface SimState {
  readonly config: SimConfig
  readonly counters: MutableCounters
  readonly bucket: TokenBucket
  readonly registry: TokenRegistry
  credentials: ClientCredentials
  hang: boolean
  /** Answers the token endpoint owes as failures (`failNext`), with their status. */
  failures: { readonly remaining: number; readonly status: number }
  /** Latency timers still pending, cleared on close so nothing fires late. */
  readonly timers: Set<ReturnType<typeof setTimeout>>
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
  const now = () => performance.now()
  return {
    config,
    counters: zeroCounters(),
    bucket: makeTokenBucket({ capacity: config.burst, refillPerMs: config.refillPerMs, now }),
    registry: makeTokenRegistry(now),
    credentials: { clientId: config.clientId, clientSecret: config.clientSecret },
    hang: false,
    failures: { remaining: 0, status: 503 },
    timers: new Set()
  }
}
