/**
 * The simulator's options with defaults applied and `timeScale` folded into
 * real-time durations, so the request handlers never deal with scaling.
 */
import type { Project44SimOptions } from "../Project44Sim.ts"

export interface SimConfig {
  readonly clientId: string
  readonly clientSecret: string
  readonly port: number
  readonly burst: number
  /** Bucket refill per real millisecond. */
  readonly refillPerMs: number
  /** What `expires_in` reports: upstream seconds, never scaled. */
  readonly tokenLifetimeSeconds: number
  /** How long a token really lives: the lifetime divided by `timeScale`. */
  readonly tokenLifetimeMs: number
  readonly latencyMs: number
}

/** Throws a RangeError on nonsensical options: they are programming mistakes. */
export const resolveSimConfig = (options: Project44SimOptions): SimConfig => {
  const port = options.port ?? 0
  const tokensPerMinute = options.tokensPerMinute ?? 5
  const burst = options.burst ?? 6
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 43_200
  const timeScale = options.timeScale ?? 1
  const latencyMs = options.latencyMs ?? 0
  check(options.clientId.length > 0, "clientId must not be empty")
  check(options.clientSecret.length > 0, "clientSecret must not be empty")
  check(Number.isInteger(port) && port >= 0 && port <= 65_535, "port must be an integer in 0..65535")
  check(isPositive(tokensPerMinute), "tokensPerMinute must be a positive number")
  check(Number.isInteger(burst) && burst >= 1, "burst must be an integer >= 1")
  check(isPositive(tokenLifetimeSeconds), "tokenLifetimeSeconds must be a positive number")
  check(isPositive(timeScale), "timeScale must be a positive number")
  check(Number.isFinite(latencyMs) && latencyMs >= 0, "latencyMs must be a number >= 0")
  return {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    port,
    burst,
    refillPerMs: (tokensPerMinute * timeScale) / 60_000,
    tokenLifetimeSeconds,
    tokenLifetimeMs: (tokenLifetimeSeconds * 1000) / timeScale,
    latencyMs
  }
}

const isPositive = (value: number): boolean => Number.isFinite(value) && value > 0

const check = (condition: boolean, message: string): void => {
  if (!condition) throw new RangeError(`Project44Sim: ${message}`)
}
