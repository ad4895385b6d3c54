/**
 * Everything the simulated ItemPath remembers between requests, shared by the
 * user endpoints, the protected resource and the admin endpoints.
 */
import type { ItemPathCounters } from "../../ItemPathSim.ts"
import { type Latency, makeLatency } from "../Latency.ts"
import type { ItemPathSimConfig } from "./ItemPathSimConfig.ts"
import { makeSessionTokens, type SessionTokens } from "./SessionTokens.ts"

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
}

export const zeroItemPathCounters = (): MutableItemPathCounters => ({
  userRequests: 0,
  logins: 0,
  loginFailures: 0,
  refreshes: 0,
  refreshFailures: 0,
  applicationTokens: 0,
  applicationTokenFailures: 0,
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
  hang: false
})
