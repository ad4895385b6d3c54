/**
 * The service's configuration file (JSON): where NATS is, the subject prefix,
 * lease timings and the providers to broker. Decoded with Schema so a bad
 * file stops start-up with one message naming the field; secrets are then
 * resolved into `Redacted` values (see Secret.ts).
 */
import { readFile } from "node:fs/promises"
import {
  defaultLeaseConfig,
  defaultPrefix,
  defaultRateLimit,
  defaultRetryPolicy,
  LeaseConfig,
  leaseConfigProblem,
  Prefix,
  ProviderId,
  RateLimit,
  RetryPolicy
} from "@tokenbus/core"
import { Effect, Redacted, Schema } from "effect"
import { ConfigError } from "./ConfigError.ts"
import { resolveSecret, SecretRef } from "./Secret.ts"

const HttpUrl = Schema.String.check(
  Schema.makeFilter((url) =>
    (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)) || "expected an http:// or https:// URL")
)
const PositiveMillis = Schema.Int.check(Schema.isGreaterThan(0))
const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** How a provider's leader treats its upstream; the same for every kind. */
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
  )
}

export const OAuth2ClientCredentialsConfig = Schema.Struct({
  ...mintPolicy,
  id: ProviderId,
  kind: Schema.Literal("oauth2-client-credentials"),
  tokenUrl: HttpUrl,
  clientId: Schema.NonEmptyString,
  clientSecret: SecretRef,
  /** project44 accepts the credentials in a Basic header or in the form body, never both. */
  clientAuth: Schema.Literals(["basic", "body"]),
  scope: Schema.optionalKey(Schema.String),
  /** How long one call to the token endpoint may take. */
  timeoutMillis: withDefault(PositiveMillis, 10_000)
})

export const ProviderConfig = Schema.Union([OAuth2ClientCredentialsConfig])
export type ProviderConfig = typeof ProviderConfig.Type

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
  requestTimeoutMillis: withDefault(PositiveMillis, 5_000),
  providers: Schema.Array(ProviderConfig).check(Schema.isMinLength(1), Schema.makeFilter(uniqueIds))
})
export type ServiceConfigFile = typeof ServiceConfigSchema.Type

/** A provider with its secrets read, as minters use it. */
export type ResolvedProvider = Omit<ProviderConfig, "clientSecret"> & {
  readonly clientSecret: Redacted.Redacted<string>
}

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
): Effect.Effect<ConfiguredProvider, ConfigError> =>
  resolveSecret(`providers[${index}].clientSecret`, source.clientSecret).pipe(
    Effect.map((clientSecret) => ({ ...source, clientSecret, reload: () => resolveProvider(source, index) }))
  )

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
