/**
 * The OAuth2 refresh simulator's options with defaults applied and
 * `timeScale` folded into real-time lifetimes, so the request handlers never
 * deal with scaling.
 */
import type { OAuth2RefreshSimOptions } from "../../OAuth2RefreshSim.ts"

export interface OAuth2RefreshSimConfig {
  readonly clientId: string
  /** Undefined for a public client: no secret is checked. */
  readonly clientSecret: string | undefined
  readonly port: number
  /** What `expires_in` reports: upstream seconds, never scaled. */
  readonly accessTokenLifetimeSeconds: number
  /** How long an access token really lives: its lifetime divided by `timeScale`. */
  readonly accessTokenLifetimeMs: number
  /** Undefined: refresh tokens never expire by age. */
  readonly refreshTokenLifetimeMs: number | undefined
  readonly latencyMs: number
  readonly rotate: boolean
}

/** Throws a RangeError on nonsensical options: they are programming mistakes. */
export const resolveOAuth2RefreshSimConfig = (options: OAuth2RefreshSimOptions): OAuth2RefreshSimConfig => {
  const port = options.port ?? 0
  const accessSeconds = options.accessTokenLifetimeSeconds ?? 3600
  const refreshSeconds = options.refreshTokenLifetimeSeconds
  const timeScale = options.timeScale ?? 1
  const latencyMs = options.latencyMs ?? 0
  check(options.clientId.length > 0, "clientId must not be empty")
  check(options.clientSecret === undefined || options.clientSecret.length > 0, "clientSecret must not be empty")
  check(Number.isInteger(port) && port >= 0 && port <= 65_535, "port must be an integer in 0..65535")
  check(isPositive(accessSeconds), "accessTokenLifetimeSeconds must be a positive number")
  check(refreshSeconds === undefined || isPositive(refreshSeconds), "refreshTokenLifetimeSeconds must be a positive number")
  check(isPositive(timeScale), "timeScale must be a positive number")
  check(Number.isFinite(latencyMs) && latencyMs >= 0, "latencyMs must be a number >= 0")
  return {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    port,
    accessTokenLifetimeSeconds: accessSeconds,
    accessTokenLifetimeMs: (accessSeconds * 1000) / timeScale,
    refreshTokenLifetimeMs: refreshSeconds === undefined ? undefined : (refreshSeconds * 1000) / timeScale,
    latencyMs,
    rotate: options.rotate ?? true
  }
}

const isPositive = (value: number): boolean => Number.isFinite(value) && value > 0

const check = (condition: boolean, message: string): void => {
  if (!condition) throw new RangeError(`OAuth2RefreshSim: ${message}`)
}
