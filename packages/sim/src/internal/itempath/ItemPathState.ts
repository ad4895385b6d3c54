/**
 * Everything the simulated ItemPath remembers between requests, shared by the
 * user endpoints, the protected resource and the admin endpoints.
 */
import { type Latency, makeLatency } from "../Latency.ts"
import type { ItemPathSimConfig } from "./ItemPathSimConfig.ts"
import { makeSessionTokens, type SessionTokens } from "./SessionTokens.ts"

/** The authentication endpoints, by the last segment of their path. */
export type UserEndpointName = "login" | "refresh" | "application-token"

export interface ItemPathCounters {
  /** Every request to `/api/users/*`, hung and malformed ones included. */
  readonly userRequests: number
  /** Accepted logins: each issued a refresh token (and an access token), answered or withheld. */
  readonly logins: number
  /** 401s from login: wrong username or password. */
  readonly loginFailures: number
  /** Accepted refreshes: each issued an access token, answered or withheld. */
  readonly refreshes: number
  /** 401s from refresh. */
  readonly refreshFailures: number
  /** Application tokens issued, answered or withheld: each is a credential that never expires. */
  readonly applicationTokens: number
  /** 401s and 403s from application-token. */
  readonly applicationTokenFailures: number
  /** 200s that withheld the tokens they issued (`setTokenlessAnswers`): credentials nobody received. */
  readonly tokenlessAnswers: number
  /** 400s: a login that is not `{username, password}` sent as `application/json`. */
  readonly badRequests: number
  readonly resourceOk: number
  /** 401s from the protected resource. */
  readonly resourceUnauthorized: number
}

export type MutableItemPathCounters = { -readonly [K in keyof ItemPathCounters]: number }

export interface ItemPathCredentials {
  readonly username: string
  readonly password: string
}

export interface ItemPathState {
  readonly config: ItemPathSimConfig
  readonly counters: MutableItemPathCounters
  readonly tokens: SessionTokens
  readonly latency: Latency
  credentials: ItemPathCredentials
  hang: boolean
  /** Endpoints that issue their tokens as usual but answer 200 without them. */
  tokenless: ReadonlySet<UserEndpointName>
}

export const zeroItemPathCounters = (): MutableItemPathCounters => ({
  userRequests: 0,
  logins: 0,
  loginFailures: 0,
  refreshes: 0,
  refreshFailures: 0,
  applicationTokens: 0,
  applicationTokenFailures: 0,
  tokenlessAnswers: 0,
  badRequests: 0,
  resourceOk: 0,
  resourceUnauthorized: 0
})

export const makeItemPathState = (config: ItemPathSimConfig): ItemPathState => ({
  config,
  counters: zeroItemPathCounters(),
  // Monotonic: lifetimes must not jump with the wall clock.
  tokens: makeSessionTokens(() => performance.now()),
  latency: makeLatency(config.latencyMs),
  credentials: { username: config.username, password: config.password },
  hang: false,
  tokenless: new Set()
})
