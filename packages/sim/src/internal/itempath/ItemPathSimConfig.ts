/**
 * The ItemPath simulator's options with defaults applied and `timeScale`
 * folded into real-time lifetimes, so the request handlers never deal with
 * scaling.
 */
import { optionChecks, realMs, withSharedDefaults } from "../OptionChecks.ts"

export interface ItemPathSimOptions {
  readonly username: string
  readonly password: string
  /** Default 0: a random free port. */
  readonly port?: number
  /** Default 900 (15 min), in upstream seconds. */
  readonly accessTokenLifetimeSeconds?: number
  /** Default 2592000 (30 days), in upstream seconds. */
  readonly refreshTokenLifetimeSeconds?: number
  /** Default 1. */
  readonly timeScale?: number
  /** Default 0. Delay before `/api/users/*` answers. */
  readonly latencyMs?: number
  /**
   * The user's type, as ItemPath's user settings name it. Default
   * "application": only users of that type ("application" or "Application")
   * may create application tokens; any other type is answered 403.
   */
  readonly userType?: string
}

export interface ItemPathSimConfig {
  readonly username: string
  readonly password: string
  readonly port: number
  /** How long an access token really lives: its upstream lifetime divided by `timeScale`. */
  readonly accessTokenLifetimeMs: number
  readonly refreshTokenLifetimeMs: number
  readonly latencyMs: number
  readonly userType: string
}

/** ItemPath's documented lifetimes: 15 minutes and 30 days. */
const ACCESS_TOKEN_LIFETIME_SECONDS = 15 * 60
const REFRESH_TOKEN_LIFETIME_SECONDS = 30 * 24 * 60 * 60

/** Throws a RangeError on nonsensical options: they are programming mistakes. */
export const resolveItemPathSimConfig = (options: ItemPathSimOptions): ItemPathSimConfig => {
  const { latencyMs, port, timeScale } = withSharedDefaults(options)
  const accessSeconds = options.accessTokenLifetimeSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS
  const refreshSeconds = options.refreshTokenLifetimeSeconds ?? REFRESH_TOKEN_LIFETIME_SECONDS
  const check = optionChecks("ItemPathSim")
  check.nonEmpty("username", options.username)
  check.nonEmpty("password", options.password)
  check.port(port)
  check.positive("accessTokenLifetimeSeconds", accessSeconds)
  check.positive("refreshTokenLifetimeSeconds", refreshSeconds)
  check.positive("timeScale", timeScale)
  check.latency(latencyMs)
  const userType = options.userType ?? "application"
  check.nonEmpty("userType", userType)
  return {
    username: options.username,
    password: options.password,
    port,
    accessTokenLifetimeMs: realMs(accessSeconds, timeScale),
    refreshTokenLifetimeMs: realMs(refreshSeconds, timeScale),
    latencyMs,
    userType
  }
}
