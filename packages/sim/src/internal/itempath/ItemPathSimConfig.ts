/**
 * The ItemPath simulator's options with defaults applied and `timeScale`
 * folded into real-time lifetimes, so the request handlers never deal with
 * scaling.
 */
import type { ItemPathSimOptions } from "../../ItemPathSim.ts"

export interface ItemPathSimConfig {
  readonly username: string
  readonly password: string
  readonly port: number
  /** How long an access token really lives: its upstream lifetime divided by `timeScale`. */
  readonly accessTokenLifetimeMs: number
  readonly refreshTokenLifetimeMs: number
  readonly latencyMs: number
  readonly applicationUser: boolean
}

/** ItemPath's documented lifetimes: 15 minutes and 30 days. */
const ACCESS_TOKEN_LIFETIME_SECONDS = 15 * 60
const REFRESH_TOKEN_LIFETIME_SECONDS = 30 * 24 * 60 * 60

/** Throws a RangeError on nonsensical options: they are programming mistakes. */
export const resolveItemPathSimConfig = (options: ItemPathSimOptions): ItemPathSimConfig => {
  const port = options.port ?? 0
  const accessSeconds = options.accessTokenLifetimeSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS
  const refreshSeconds = options.refreshTokenLifetimeSeconds ?? REFRESH_TOKEN_LIFETIME_SECONDS
  const timeScale = options.timeScale ?? 1
  const latencyMs = options.latencyMs ?? 0
  check(options.username.length > 0, "username must not be empty")
  check(options.password.length > 0, "password must not be empty")
  check(Number.isInteger(port) && port >= 0 && port <= 65_535, "port must be an integer in 0..65535")
  check(isPositive(accessSeconds), "accessTokenLifetimeSeconds must be a positive number")
  check(isPositive(refreshSeconds), "refreshTokenLifetimeSeconds must be a positive number")
  check(isPositive(timeScale), "timeScale must be a positive number")
  check(Number.isFinite(latencyMs) && latencyMs >= 0, "latencyMs must be a number >= 0")
  return {
    username: options.username,
    password: options.password,
    port,
    accessTokenLifetimeMs: (accessSeconds * 1000) / timeScale,
    refreshTokenLifetimeMs: (refreshSeconds * 1000) / timeScale,
    latencyMs,
    applicationUser: options.applicationUser ?? true
  }
}

const isPositive = (value: number): boolean => Number.isFinite(value) && value > 0

const check = (condition: boolean, message: string): void => {
  if (!condition) throw new RangeError(`ItemPathSim: ${message}`)
}
