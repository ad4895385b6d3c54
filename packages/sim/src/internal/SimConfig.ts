/**
 * The project44 simulator's options with defaults applied and `timeScale`
 * folded into real-time durations, so the request handlers never deal with
 * scaling.
 */
import { optionChecks, realMs, withSharedDefaults } from "./OptionChecks.ts"

export interface Project44SimOptions {
  readonly clientId: string
  readonly clientSecret: string
  /** Default 0: a random free port. */
  readonly port?: number
  /** Default 5. */
  readonly tokensPerMinute?: number
  /** Default 6. */
  readonly burst?: number
  /** Default 43200 (12 h), in upstream seconds. */
  readonly tokenLifetimeSeconds?: number
  /** Default 1. */
  readonly timeScale?: number
  /** Default 0. Delay before the token endpoint answers. */
  readonly latencyMs?: number
}

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
  const { latencyMs, port, timeScale } = withSharedDefaults(options)
  const tokensPerMinute = options.tokensPerMinute ?? 5
  const burst = options.burst ?? 6
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 43_200
  const check = optionChecks("Project44Sim")
  check.nonEmpty("clientId", options.clientId)
  check.nonEmpty("clientSecret", options.clientSecret)
  check.port(port)
  check.positive("tokensPerMinute", tokensPerMinute)
  check.that(Number.isInteger(burst) && burst >= 1, "burst must be an integer >= 1")
  check.positive("tokenLifetimeSeconds", tokenLifetimeSeconds)
  check.positive("timeScale", timeScale)
  check.latency(latencyMs)
  return {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    port,
    burst,
    refillPerMs: (tokensPerMinute * timeScale) / 60_000,
    tokenLifetimeSeconds,
    tokenLifetimeMs: realMs(tokenLifetimeSeconds, timeScale),
    latencyMs
  }
}
