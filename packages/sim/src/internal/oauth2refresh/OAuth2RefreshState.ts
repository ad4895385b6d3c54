/**
 * Everything the simulated OAuth2 server remembers between requests, shared
 * by the token endpoint, the protected resource and the admin endpoints.
 */
import { type Latency, makeLatency } from "../Latency.ts"
import type { OAuth2RefreshSimConfig } from "./OAuth2RefreshSimConfig.ts"
import { type Lifetimes, makeTokenFamilies, type TokenFamilies } from "./TokenFamilies.ts"

export interface OAuth2RefreshCounters {
  /** Every request to the token endpoint, hung ones included. */
  readonly tokenRequests: number
  /** Refresh tokens redeemed for an access token. */
  readonly refreshes: number
  /** 400 invalid_grant: unknown, expired, revoked or reused refresh tokens. */
  readonly invalidGrant: number
  /** Retired refresh tokens presented again (each also counts in invalidGrant). */
  readonly refreshReuseDetected: number
  /** 401s from the token endpoint. */
  readonly invalidClient: number
  /** Other 400s: wrong grant type, content type, missing refresh_token, ambiguous client auth. */
  readonly badRequests: number
  readonly resourceOk: number
  /** 401s from the protected resource. */
  readonly resourceUnauthorized: number
}

export type MutableOAuth2RefreshCounters = { -readonly [K in keyof OAuth2RefreshCounters]: number }

export interface OAuth2Client {
  readonly clientId: string
  /** Undefined for a public client. */
  readonly clientSecret: string | undefined
}

export interface OAuth2RefreshState {
  readonly config: OAuth2RefreshSimConfig
  readonly lifetimes: Lifetimes
  readonly counters: MutableOAuth2RefreshCounters
  readonly families: TokenFamilies
  readonly latency: Latency
  client: OAuth2Client
  hang: boolean
}

export const zeroOAuth2RefreshCounters = (): MutableOAuth2RefreshCounters => ({
  tokenRequests: 0,
  refreshes: 0,
  invalidGrant: 0,
  refreshReuseDetected: 0,
  invalidClient: 0,
  badRequests: 0,
  resourceOk: 0,
  resourceUnauthorized: 0
})

export const makeOAuth2RefreshState = (config: OAuth2RefreshSimConfig): OAuth2RefreshState => ({
  config,
  lifetimes: { accessTokenMs: config.accessTokenLifetimeMs, refreshTokenMs: config.refreshTokenLifetimeMs },
  counters: zeroOAuth2RefreshCounters(),
  // Monotonic: lifetimes must not jump with the wall clock.
  families: makeTokenFamilies(() => performance.now()),
  latency: makeLatency(config.latencyMs),
  client: { clientId: config.clientId, clientSecret: config.clientSecret },
  hang: false
})
