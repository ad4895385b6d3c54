/**
 * How `tokenbus get` and `tokenbus reset` reach the service's NATS. An
 * operator already has the replicas' configuration file, which says where
 * NATS is, how to log in to it and which prefix the service uses: `--config`
 * (or `TOKENBUS_CONFIG`, as for `serve`) takes its `nats` section (servers,
 * auth, tls) and `prefix`, and nothing else of it, so the providers' secrets
 * need not be at hand. Flags override the file: `--servers`, `--prefix`, and
 * `--creds <file>` (a NATS `.creds` file, as the `nats` command takes it) for
 * the credential. Without either, NATS on 127.0.0.1:4222 with no credential.
 */
import { readFile } from "node:fs/promises"
import { defaultPrefix, Prefix } from "@tokenbus/core"
import type { NatsConnectionOptions } from "@tokenbus/nats"
import { Effect, Option, Schema } from "effect"
import { Flag } from "effect/cli"
import { ConfigError } from "../config/ConfigError.ts"
import { withDefault } from "../config/ConfigFields.ts"
import { NatsSettingsSchema, resolveNatsSettings } from "../config/NatsSettings.ts"
import { resolveSecret } from "../config/Secret.ts"
import { configVariable, optionalConfigSource } from "./ConfigSource.ts"

const defaultServers = "nats://127.0.0.1:4222"
const cliName = "tokenbus-cli"

export const connectionFlags = {
  config: Flag.String("config").pipe(
    Flag.withAlias("c"),
    Flag.withDescription(
      "The service's JSON configuration file, of which the nats section (servers, auth, tls) and the prefix " +
        `are used (default: $${configVariable}, if set)`
    ),
    Flag.optional
  ),
  servers: Flag.String("servers").pipe(
    Flag.withDescription(`Comma-separated NATS server URLs (default: the configuration's, else ${defaultServers})`),
    Flag.optional
  ),
  prefix: Flag.String("prefix").pipe(
    Flag.withDescription(`Subject prefix of the service (default: the configuration's, else ${defaultPrefix})`),
    Flag.optional
  ),
  creds: Flag.String("creds").pipe(
    Flag.withDescription("A NATS .creds file to authenticate with, instead of the configuration's nats.auth"),
    Flag.optional
  )
}

export interface ConnectionFlags {
  readonly config: Option.Option<string>
  readonly servers: Option.Option<string>
  readonly prefix: Option.Option<string>
  readonly creds: Option.Option<string>
}

/** The part of the service's file the CLI reads; the rest (providers and their secrets) is not decoded. */
const ConnectionSection = Schema.Struct({ nats: NatsSettingsSchema, prefix: withDefault(Prefix, defaultPrefix) })
const decodeSection = Schema.decodeUnknownEffect(Schema.fromJsonString(ConnectionSection))

/** `--config`, else `TOKENBUS_CONFIG` if set, with the setting it came from for messages. */
export const configPath = optionalConfigSource

const loadSection = Effect.fnUntraced(function*(source: { readonly setting: string; readonly path: string }) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(source.path, "utf8"),
    catch: (cause) =>
      new ConfigError({ message: `${source.setting} ${source.path} cannot be read (${(cause as Error).message})` })
  })
  const section = yield* decodeSection(text).pipe(
    Effect.mapError((error) =>
      new ConfigError({ message: `invalid configuration in ${source.path}: ${error.message}` })
    )
  )
  return { prefix: section.prefix, nats: yield* resolveNatsSettings(section.nats) }
})

/** The connection options and prefix `flags` add up to, every secret `Redacted`. */
export const cliConnection = Effect.fnUntraced(function*(flags: ConnectionFlags) {
  const source = yield* configPath(flags.config)
  const file = Option.isSome(source) ? yield* loadSection(source.value) : undefined
  const servers = Option.match(flags.servers, {
    onNone: () => file?.nats.servers ?? [defaultServers],
    onSome: (list) => list.split(",").map((url) => url.trim()).filter((url) => url !== "")
  })
  const auth = Option.isSome(flags.creds)
    ? { creds: yield* resolveSecret("--creds", { file: flags.creds.value }) }
    : file?.nats.auth
  const nats: NatsConnectionOptions = {
    servers,
    // The replicas' connection name is theirs; the CLI's shows as the CLI in the server's listings.
    name: cliName,
    ...(auth === undefined ? {} : { auth }),
    ...(file?.nats.tls === undefined ? {} : { tls: file.nats.tls }),
    ...(file?.nats.inboxPrefix === undefined ? {} : { inboxPrefix: file.nats.inboxPrefix })
  }
  return { nats, prefix: Option.getOrElse(flags.prefix, () => file?.prefix ?? defaultPrefix) }
})
