/**
 * The service's configuration file (JSON): where NATS is, the subject prefix,
 * lease timings and the providers to broker. Decoded with Schema so a bad
 * file stops start-up with one message naming the field; secrets are then
 * resolved into `Redacted` values (see Secret.ts). Which provider kinds exist
 * is the registry's business (kinds/ProviderKinds.ts).
 */
import { readFile } from "node:fs/promises"
import {
  defaultLeaseConfig,
  defaultPrefix,
  type KeyRing,
  LeaseConfig,
  leaseConfigProblem,
  Prefix
} from "@tokenbus/core"
import { Effect, Schema, Struct } from "effect"
import { providerKinds } from "../kinds/ProviderKinds.ts"
import { BusConfig, resolveBus } from "./BusConfig.ts"
import { ConfigError } from "./ConfigError.ts"
import { PositiveInt, withDefault } from "./ConfigFields.ts"
import { type ConfiguredProvider, type ProviderEntry, resolveProvider } from "./ConfiguredProvider.ts"
import { HttpConfig, LogConfig } from "./HttpConfig.ts"
import { mintPolicyFields } from "./MintPolicy.ts"
import { type NatsSettings, NatsSettingsSchema, resolveNatsSettings } from "./NatsSettings.ts"
import { resolveSigning, type Signing, SigningConfig } from "./SigningConfig.ts"
import { resolveStorage, type Storage, StorageConfig } from "./StorageConfig.ts"

// Each kind's own checks only read its own fields, so they hold with the policy added.
const withPolicy = { unsafePreserveChecks: true } as const

/**
 * A provider entry: one of the registry's kinds with the mint policy added.
 * The registry forgets each kind's own types (each kind checks them where it
 * is defined), so what is typed here is what every entry has.
 */
export const ProviderConfig = Schema.Union(
  providerKinds.map((kind) => kind.config.mapFields(Struct.assign(mintPolicyFields), withPolicy))
) as unknown as Schema.Codec<ProviderEntry, unknown>

const uniqueIds = (providers: ReadonlyArray<ProviderEntry>) =>
  new Set(providers.map((p) => p.id)).size === providers.length || "provider ids must be unique"

export const ServiceConfigSchema = Schema.Struct({
  nats: NatsSettingsSchema,
  prefix: withDefault(Prefix, defaultPrefix),
  lease: withDefault(LeaseConfig, defaultLeaseConfig).check(
    Schema.makeFilter((lease) => leaseConfigProblem(lease) ?? true)
  ),
  /** How long a replica waits for the leader before answering TokenUnavailable. */
  requestTimeoutMillis: withDefault(PositiveInt, 5_000),
  signing: Schema.optionalKey(SigningConfig),
  storage: Schema.optionalKey(StorageConfig),
  bus: Schema.optionalKey(BusConfig),
  http: Schema.optionalKey(HttpConfig),
  log: Schema.optionalKey(LogConfig),
  providers: Schema.Array(ProviderConfig).check(Schema.isMinLength(1), Schema.makeFilter(uniqueIds))
})
export type ServiceConfigFile = typeof ServiceConfigSchema.Type

export interface ServiceConfig extends Omit<ServiceConfigFile, "providers" | "nats" | "signing" | "storage" | "bus"> {
  /** Absent: the replica sends its tokens unsigned (and says so at start). */
  readonly signing?: Signing | undefined
  readonly nats: NatsSettings
  readonly providers: ReadonlyArray<ConfiguredProvider>
  /** How tokens and carries are kept in KV (StorageConfig.ts); the file must say. */
  readonly storage: Storage
  /** Absent: access tokens go on the bus in clear; else sealed with the ring's write key (BusConfig.ts). */
  readonly bus?: KeyRing | undefined
}

const decodeFile = Schema.decodeUnknownEffect(Schema.fromJsonString(ServiceConfigSchema))

/** Decodes `text` (the file's content) and resolves its secrets. `source` names the file in errors. */
export const parseServiceConfig = Effect.fnUntraced(function*(text: string, source: string) {
  const file = yield* decodeFile(text).pipe(
    Effect.mapError((error) => new ConfigError({ message: `invalid configuration in ${source}: ${error.message}` }))
  )
  const nats = yield* resolveNatsSettings(file.nats)
  const providers = yield* Effect.forEach(file.providers, resolveProvider)
  const signing = yield* resolveSigning(file.signing)
  const storage = yield* resolveStorage(file.storage, providers)
  const bus = yield* resolveBus(file.bus, storage)
  return { ...file, nats, providers, signing, storage, bus } satisfies ServiceConfig
})

export const loadServiceConfig = Effect.fnUntraced(function*(path: string) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => new ConfigError({ message: `cannot read configuration file ${path}: ${(cause as Error).message}` })
  })
  return yield* parseServiceConfig(text, path)
})
