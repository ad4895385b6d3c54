/**
 * The service's configuration file (JSON): where NATS is, the subject prefix,
 * lease timings and the providers to broker. Decoded with Schema so a bad
 * file stops start-up with one message naming the field; secrets are then
 * resolved into `Redacted` values (see Secret.ts).
 */
import { readFile } from "node:fs/promises"
import { defaultLeaseConfig, defaultPrefix, LeaseConfig, leaseConfigProblem, Prefix, ProviderId } from "@tokenbus/core"
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

export const OAuth2ClientCredentialsConfig = Schema.Struct({
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

export type ResolvedProvider = Omit<ProviderConfig, "clientSecret"> & {
  readonly clientSecret: Redacted.Redacted<string>
}

export interface ServiceConfig extends Omit<ServiceConfigFile, "providers"> {
  readonly providers: ReadonlyArray<ResolvedProvider>
}

const decodeFile = Schema.decodeUnknownEffect(Schema.fromJsonString(ServiceConfigSchema))

/** Decodes `text` (the file's content) and resolves its secrets. `source` names the file in errors. */
export const parseServiceConfig = Effect.fnUntraced(function*(text: string, source: string) {
  const file = yield* decodeFile(text).pipe(
    Effect.mapError((error) => new ConfigError({ message: `invalid configuration in ${source}: ${error.message}` }))
  )
  const providers = yield* Effect.forEach(file.providers, (provider, index) =>
    resolveSecret(`providers[${index}].clientSecret`, provider.clientSecret).pipe(
      Effect.map((clientSecret): ResolvedProvider => ({ ...provider, clientSecret }))
    ))
  return { ...file, providers } satisfies ServiceConfig
})

export const loadServiceConfig = Effect.fnUntraced(function*(path: string) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => new ConfigError({ message: `cannot read configuration file ${path}: ${(cause as Error).message}` })
  })
  return yield* parseServiceConfig(text, path)
})
