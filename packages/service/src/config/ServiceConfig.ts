/**
 * The service's configuration file (JSON): where NATS is, the subject prefix,
 * lease timings and the providers to broker. Decoded with Schema so a bad
 * file stops start-up with one message naming the field; secrets are then
 * resolved into `Redacted` values (see Secret.ts).
 */
import { readFile } from "node:fs/promises"
import {
  defaultLeaseConfig,
  Lifecycle,
  onUnauthorized,
  proactive,
  defaultPrefix,
  defaultRateLimit,
  defaultRetryPolicy,
  LeaseConfig,
  leaseConfigProblem,
  Prefix,
  RateLimit,
  RetryPolicy
} from "@tokenbus/core"
import { Effect, Schema, Struct } from "effect"
import { ConfigError } from "./ConfigError.ts"
import { PositiveInt, withDefault } from "./ConfigFields.ts"
import { ItemPath, ItemPathConfig, type ResolvedItemPathConfig } from "./ItemPath.ts"
import {
  OAuth2ClientCredentials,
  OAuth2ClientCredentialsConfig,
  type ResolvedClientCredentialsConfig
} from "./OAuth2ClientCredentials.ts"
import { OAuth2RefreshToken, OAuth2RefreshTokenConfig, type ResolvedOAuth2RefreshTokenConfig } from "./OAuth2RefreshToken.ts"
import { StaticTokenConfig } from "./StaticToken.ts"


/** How a provider's leader treats its upstream; the same fields for every kind. */
const mintPolicy = {
  /** The upstream's rate limit, kept cluster-wide. */
  rateLimit: withDefault(RateLimit, defaultRateLimit),
  /** Retries of transient failures (5xx, timeouts) within one mint. */
  retry: withDefault(RetryPolicy, defaultRetryPolicy),
  circuitBreaker: withDefault(
    Schema.Struct({
      /** A token minted after a 401 and itself reported 401 this soon trips the breaker; 0 turns the rule off. */
      freshTokenMillis: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
    }),
    { freshTokenMillis: 5_000 }
  ),
  /** When to renew before a 401; each kind has its own default (see `lifecycleOf`). */
  lifecycle: Schema.optionalKey(Lifecycle)
}

// Each kind's own checks only read its own fields, so they hold with the policy added.
const withPolicy = { unsafePreserveChecks: true } as const

export const ProviderConfig = Schema.Union([
  OAuth2ClientCredentialsConfig.mapFields(Struct.assign(mintPolicy), withPolicy),
  ItemPathConfig.mapFields(Struct.assign(mintPolicy), withPolicy),
  OAuth2RefreshTokenConfig.mapFields(Struct.assign(mintPolicy), withPolicy),
  StaticTokenConfig.mapFields(Struct.assign(mintPolicy), withPolicy)
])
export type ProviderConfig = typeof ProviderConfig.Type

export type MintPolicy = Pick<ProviderConfig, "rateLimit" | "retry" | "circuitBreaker" | "lifecycle">

const uniqueIds = (providers: ReadonlyArray<ProviderConfig>) =>
  new Set(providers.map((p) => p.id)).size === providers.length || "provider ids must be unique"

export const ServiceConfigSchema = Schema.Struct({
  nats: Schema.Struct({
    servers: Schema.Array(Schema.NonEmptyString).check(Schema.isMinLength(1)),
    name: Schema.optionalKey(Schema.String)
  }),
  prefix: withDefault(Prefix, defaultPrefix),
  lease: withDefault(LeaseConfig, defaultLeaseConfig).check(
    Schema.makeFilter((lease) => leaseConfigProblem(lease) ?? true)
  ),
  /** How long a replica waits for the leader before answering TokenUnavailable. */
  requestTimeoutMillis: withDefault(PositiveInt, 5_000),
  providers: Schema.Array(ProviderConfig).check(Schema.isMinLength(1), Schema.makeFilter(uniqueIds))
})
export type ServiceConfigFile = typeof ServiceConfigSchema.Type

/** A provider with its secrets read, as minters use it. */
export type ResolvedProvider = MintPolicy & (
  | ResolvedClientCredentialsConfig
  | ResolvedItemPathConfig
  | ResolvedOAuth2RefreshTokenConfig
  | StaticTokenConfig
)

/**
 * A provider as the service runs it: resolved, and able to resolve itself
 * again (secrets rotate). A function, not the source itself, so that printing
 * the configuration cannot show a literal secret.
 */
export type ConfiguredProvider = ResolvedProvider & {
  readonly reload: () => Effect.Effect<ConfiguredProvider, ConfigError>
}

export interface ServiceConfig extends Omit<ServiceConfigFile, "providers"> {
  readonly providers: ReadonlyArray<ConfiguredProvider>
}

/** Reads the provider's secrets; `index` names it in errors (`providers[index]`). */
export const resolveProvider = (
  source: ProviderConfig,
  index: number
): Effect.Effect<ConfiguredProvider, ConfigError> => {
  const field = `providers[${index}]`
  const resolved: Effect.Effect<ResolvedProvider, ConfigError> = (() => {
    switch (source.kind) {
      case "oauth2-client-credentials":
        return OAuth2ClientCredentials.resolve(source, field)
      case "itempath":
        return ItemPath.resolve(source, field)
      case "oauth2-refresh-token":
        return OAuth2RefreshToken.resolve(source, field)
      case "static":
        return Effect.succeed(source)
    }
  })()
  return resolved.pipe(Effect.map((provider) => ({ ...provider, reload: () => resolveProvider(source, index) })))
}

/** The provider's lifecycle, or its kind's default: tokens that expire soon are renewed at half-life. */
export const lifecycleOf = (provider: ResolvedProvider): Lifecycle => {
  if (provider.lifecycle !== undefined) return provider.lifecycle
  switch (provider.kind) {
    case "itempath":
      return provider.applicationToken ? onUnauthorized : proactive(0.5)
    case "oauth2-refresh-token":
      return proactive(0.5)
    case "oauth2-client-credentials":
    case "static":
      return onUnauthorized
  }
}

const decodeFile = Schema.decodeUnknownEffect(Schema.fromJsonString(ServiceConfigSchema))

/** Decodes `text` (the file's content) and resolves its secrets. `source` names the file in errors. */
export const parseServiceConfig = Effect.fnUntraced(function*(text: string, source: string) {
  const file = yield* decodeFile(text).pipe(
    Effect.mapError((error) => new ConfigError({ message: `invalid configuration in ${source}: ${error.message}` }))
  )
  const providers = yield* Effect.forEach(file.providers, resolveProvider)
  return { ...file, providers } satisfies ServiceConfig
})

export const loadServiceConfig = Effect.fnUntraced(function*(path: string) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => new ConfigError({ message: `cannot read configuration file ${path}: ${(cause as Error).message}` })
  })
  return yield* parseServiceConfig(text, path)
})
