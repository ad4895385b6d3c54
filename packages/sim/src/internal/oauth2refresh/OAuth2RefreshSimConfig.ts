/**
 * The OAuth2 refresh simulator's options with defaults applied and
 * `timeScale` folded into real-time lifetimes, so the request handlers never
 * deal with scaling.
 */
import { optionChecks, realMs, withSharedDefaults } from "../OptionChecks.ts"

export interface OAuth2RefreshSimOptions {
  readonly clientId: string
  /** Omit for a public client, which sends only `client_id`. */
  readonly clientSecret?: string
  /** Default 0: a random free port. */
  readonly port?: number
  /** Default 3600, in upstream seconds. */
  readonly accessTokenLifetimeSeconds?: number
  /** Default: refresh tokens never expire by age. In upstream seconds. */
  readonly refreshTokenLifetimeSeconds?: number
  /** Default 1. */
  readonly timeScale?: number
  /** Default 0. Delay before the token endpoint answers. */
  readonly latencyMs?: number
  /** Default true: every refresh rotates the refresh token. */
  readonly rotate?: boolean
}

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
  const { latencyMs, port, timeScale } = withSharedDefaults(options)
  const accessSeconds = options.accessTokenLifetimeSeconds ?? 3600
  const refreshSeconds = options.refreshTokenLifetimeSeconds
  const check = optionChecks("OAuth2RefreshSim")
  check.nonEmpty("clientId", options.clientId)
  if (options.clientSecret !== undefined) check.nonEmpty("clientSecret", options.clientSecret)
  check.port(port)
  check.positive("accessTokenLifetimeSeconds", accessSeconds)
  if (refreshSeconds !== undefined) check.positive("refreshTokenLifetimeSeconds", refreshSeconds)
  check.positive("timeScale", timeScale)
  check.latency(latencyMs)
  return {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    port,
    accessTokenLifetimeSeconds: accessSeconds,
    accessTokenLifetimeMs: realMs(accessSeconds, timeScale),
    refreshTokenLifetimeMs: refreshSeconds === undefined ? undefined : realMs(refreshSeconds, timeScale),
    latencyMs,
    rotate: options.rotate ?? true
  }
}
