/**
 * What `startTokenbus` can be told, and the settings it runs with once the
 * defaults are applied: two replicas on project44's own policy, NATS from
 * the local image (or `$NATS_IMAGE`), a random subject prefix, progress on
 * stderr. Options that make no sense fail at once, before Docker is touched.
 */
import { randomBytes } from "node:crypto"
import type { Project44SimOptions } from "@tokenbus/sim"
import { DEFAULT_NATS_IMAGE, natsImage } from "./internal/DockerImage.ts"
import { type ProgressLog, progressLog } from "./internal/Progress.ts"
import type { ProviderPolicy, RateLimitSettings, RetrySettings } from "./internal/ServiceConfigFile.ts"
import { TestKitError } from "./TestKitError.ts"

export type { ProgressLog } from "./internal/Progress.ts"
export type { RateLimitSettings, RetrySettings } from "./internal/ServiceConfigFile.ts"

/** The simulated project44's own behaviour: its gateway's rate limit, token lifetime and latency. */
export type UpstreamSettings = Pick<
  Project44SimOptions,
  "tokensPerMinute" | "burst" | "tokenLifetimeSeconds" | "timeScale" | "latencyMs"
>

export interface StartTokenbusOptions {
  /** tokenbus replica processes (default 2). */
  readonly replicas?: number
  /** The NATS server image (default `$NATS_IMAGE`, else the local build `tokenbus/nats-server:2.15-debian`). */
  readonly image?: string
  /** Pull the image when it is missing (default: yes, except the local default image, published nowhere). */
  readonly pull?: boolean
  /** The service's subject prefix (default: random, so kits sharing nothing never meet). */
  readonly prefix?: string
  /** The service's rate limit for the provider (default project44's: 5 tokens within any minute). */
  readonly rateLimit?: RateLimitSettings
  /** Retries of 5xx and timeouts within one mint (default 4 attempts, 500 ms base, 30 s cap). */
  readonly retry?: RetrySettings
  /**
   * The service trips its breaker, and stops minting, when a token minted after a 401 is itself reported 401
   * within `freshTokenMillis` (default 5000). `{ freshTokenMillis: 0 }` turns that off, for tests that revoke
   * tokens in quick succession.
   */
  readonly circuitBreaker?: { readonly freshTokenMillis: number }
  /** The simulated upstream's settings (default project44's gateway limit: 5 a minute, 6 at once). */
  readonly upstream?: UpstreamSettings
  /** The replicas' `TOKENBUS_LOG_LEVEL` (default "Info"); their logs are in `kit.logs()`. */
  readonly logLevel?: string
  /** Progress lines: default stderr, `false` for none, or a function of yours. */
  readonly log?: ProgressLog | false
  /** How long each step of the start may take, in ms (default 60000). */
  readonly timeoutMillis?: number
  /**
   * Seal the access tokens the replicas send (their `bus` section, with a key of the kit's own; default false).
   * The kit's `busKeys` then holds the key, so `TokenbusClient.connect(kit)` opens them.
   */
  readonly sealBus?: boolean
}

export interface KitSettings {
  readonly replicas: number
  readonly image: string
  readonly pull: boolean
  readonly prefix: string
  readonly policy: ProviderPolicy
  readonly upstream: UpstreamSettings
  readonly logLevel: string
  readonly log: ProgressLog
  readonly timeoutMillis: number
  readonly sealBus: boolean
}

const invalid = (message: string): TestKitError => new TestKitError({ step: "options", message })

const isPositiveInt = (value: unknown): boolean => Number.isInteger(value) && (value as number) >= 1

/** Throws a TestKitError naming the field unless `limit` is one the service accepts. */
export const checkRateLimit = (limit: RateLimitSettings): RateLimitSettings => {
  for (const field of ["tokens", "windowMillis", "burst"] as const) {
    if (field === "burst" && limit.burst === undefined) continue
    if (!isPositiveInt(limit[field])) throw invalid(`rateLimit.${field} must be a positive integer`)
  }
  return limit
}

const policyOf = (options: StartTokenbusOptions): ProviderPolicy => ({
  ...(options.rateLimit === undefined ? {} : { rateLimit: checkRateLimit(options.rateLimit) }),
  ...(options.retry === undefined ? {} : { retry: options.retry }),
  ...(options.circuitBreaker === undefined ? {} : { circuitBreaker: options.circuitBreaker })
})

export const kitSettings = (options: StartTokenbusOptions): KitSettings => {
  const replicas = options.replicas ?? 2
  if (!isPositiveInt(replicas)) throw invalid(`replicas must be a positive integer, got ${replicas}`)
  const timeoutMillis = options.timeoutMillis ?? 60_000
  if (!isPositiveInt(timeoutMillis)) throw invalid(`timeoutMillis must be a positive integer, got ${timeoutMillis}`)
  const image = natsImage(options.image)
  return {
    replicas,
    image,
    pull: options.pull ?? image !== DEFAULT_NATS_IMAGE,
    prefix: options.prefix ?? `t${randomBytes(4).toString("hex")}`,
    policy: policyOf(options),
    upstream: options.upstream ?? {},
    logLevel: options.logLevel ?? "Info",
    log: progressLog(options.log),
    timeoutMillis,
    sealBus: options.sealBus ?? false
  }
}
