/**
 * The OAuth2 refresh simulator's options with defaults applied and
 * `timeScale` folded into real-time lifetimes, so the request handlers never
 * deal with scaling.
 */
import type { OAuth2RefreshSimOptions } from "../../OAuth2RefreshSim.ts"
import { optionChecks, realMs, withSharedDefaults } from "../OptionChecks.ts"

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
