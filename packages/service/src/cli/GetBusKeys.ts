/**
 * The keys `tokenbus get` opens a sealed token with (the client's
 * `busKeys`; PROTOCOL.md, "Sealed tokens"). `--bus-key <id>=<file>`, once per
 * key, gives a key's id and a file holding the base64 of its 32 bytes, as a
 * `bus` section's `{ "file": ... }` does; a file that holds no such key fails
 * the command. Without the flag, when the configuration file (`--config` or
 * `TOKENBUS_CONFIG`) has a `bus` section, its ring is used, as `get` takes
 * the verify key from `signing`; a key of it that cannot be read here fails
 * the command, naming the field, since the token would not open anyway.
 * Without either, no key: a sealed token fails with `UnsealableToken`.
 */
import type { BusKeyInput } from "@tokenbus/client"
import { sealingKeyFromBase64 } from "@tokenbus/core"
import { Effect, Option, Redacted, Result, Schema } from "effect"
import { Flag } from "effect/cli"
import { BusConfig } from "../config/BusConfig.ts"
import { ConfigError } from "../config/ConfigError.ts"
import { resolveSecret } from "../config/Secret.ts"
import { configPath } from "./CliConnection.ts"
import { readText } from "./GetVerifyKey.ts"

export const busKeyFlag = Flag.KeyValuePair("bus-key").pipe(
  Flag.withDescription(
    "A bus key to open sealed tokens with, as <id>=<file>, the file holding the base64 of its 32 bytes; repeat for " +
      "each key of the ring (default: the configuration's bus section, when it has one)"
  ),
  Flag.optional
)

/** The part of the service's file this reads; the rest is not decoded. */
const BusSection = Schema.Struct({ bus: Schema.optionalKey(BusConfig) })
const decodeBus = Schema.decodeUnknownEffect(Schema.fromJsonString(BusSection))

/** The key `secret` holds, checked here so a wrong one fails as the setting that gave it, not in the client. */
const checked = (setting: string, id: string, secret: Redacted.Redacted<string>) => {
  const key = sealingKeyFromBase64(id, secret)
  return Result.isFailure(key)
    ? Effect.fail(new ConfigError({ message: `${setting}: ${key.failure.message}` }))
    : Effect.succeed<BusKeyInput>({ id, key: secret })
}

const fromFlag = (pairs: Record<string, string>) =>
  Effect.forEach(Object.entries(pairs), ([id, path]) =>
    Effect.gen(function*() {
      const setting = `--bus-key ${id}=${path}`
      return yield* checked(setting, id, yield* resolveSecret(setting, { file: path }))
    }))

const fromConfig = Effect.fnUntraced(function*(source: { readonly setting: string; readonly path: string }) {
  const { bus } = yield* decodeBus(yield* readText(source.setting, source.path)).pipe(
    Effect.mapError((error) =>
      new ConfigError({ message: `invalid configuration in ${source.path}: ${error.message}` })
    )
  )
  if (bus === undefined) return []
  return yield* Effect.forEach(bus.keys, (entry, index) =>
    Effect.gen(function*() {
      // The messages name the field and the reference, never the key.
      const field = `bus.keys[${index}].key`
      const secret = yield* resolveSecret(field, entry.key).pipe(
        Effect.mapError((error) => new ConfigError({ message: `${error.message}; pass --bus-key ${entry.id}=<file>` }))
      )
      return yield* checked(field, entry.id, secret)
    }))
})

/** What `get` opens sealed tokens with, from `--bus-key`, else the configuration file; none without either. */
export const getBusKeys = Effect.fnUntraced(function*(flags: {
  readonly busKey: Option.Option<Record<string, string>>
  readonly config: Option.Option<string>
}) {
  if (Option.isSome(flags.busKey)) return yield* fromFlag(flags.busKey.value)
  const source = yield* configPath(flags.config)
  const keys: ReadonlyArray<BusKeyInput> = Option.isSome(source) ? yield* fromConfig(source.value) : []
  return keys
})
