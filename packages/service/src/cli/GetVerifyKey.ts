/**
 * The key `tokenbus get` checks the token's signature with (the client's
 * `verifyKey`). `--verify-key <file>` gives the cluster's public key (PEM, as
 * `tokenbus keygen` writes it); a file that holds no such key fails the
 * command. Without the flag, when the configuration file (`--config` or
 * `TOKENBUS_CONFIG`) has a `signing` section, the public half of its private
 * key is used, so an operator holding the replicas' file need not pass the
 * key. An operator need not hold the private key either: when it cannot be
 * read here, or there is no key at all, the token is shown with its
 * signature not checked, and the output says why. With a key, a token that
 * does not verify fails the command (`UntrustedToken`).
 */
import { readFile } from "node:fs/promises"
import { signingKeyFromPem, verifyKeyFromPem } from "@tokenbus/core"
import { Effect, Option, Result, Schema } from "effect"
import { Flag } from "effect/cli"
import { ConfigError } from "../config/ConfigError.ts"
import { resolveSecret } from "../config/Secret.ts"
import { SigningConfig } from "../config/SigningConfig.ts"
import { configPath } from "./CliConnection.ts"

export const verifyKeyFlag = Flag.String("verify-key").pipe(
  Flag.withDescription(
    "The cluster's public key (a PEM file, as tokenbus keygen writes it) to verify the token's signature with " +
      "(default: the public half of the configuration's signing.privateKey, when it has one and it can be read)"
  ),
  Flag.optional
)

/** How `get` treats the token's signature. */
export type GetVerification =
  | { readonly _tag: "Verify"; readonly pem: string }
  | { readonly _tag: "Unchecked"; readonly why: string }

const unchecked = (why: string): GetVerification => ({ _tag: "Unchecked", why })

/** The part of the service's file this reads; the rest is not decoded. */
const SigningSection = Schema.Struct({ signing: Schema.optionalKey(SigningConfig) })
const decodeSigning = Schema.decodeUnknownEffect(Schema.fromJsonString(SigningSection))

/** A file's text; a failure names `setting` and the path (GetBusKeys.ts reads the configuration with it too). */
export const readText = (setting: string, path: string) =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => {
      const why = cause instanceof Error ? cause.message : String(cause)
      return new ConfigError({ message: `${setting} ${path} cannot be read (${why})` })
    }
  })

const fromFlag = Effect.fnUntraced(function*(path: string) {
  const key = verifyKeyFromPem(yield* readText("--verify-key", path))
  if (Result.isFailure(key)) return yield* new ConfigError({ message: `--verify-key ${path}: ${key.failure.message}` })
  return { _tag: "Verify", pem: key.success.pem } satisfies GetVerification
})

const fromConfig = Effect.fnUntraced(function*(source: { readonly setting: string; readonly path: string }) {
  const { signing } = yield* decodeSigning(yield* readText(source.setting, source.path)).pipe(
    Effect.mapError((error) =>
      new ConfigError({ message: `invalid configuration in ${source.path}: ${error.message}` })
    )
  )
  if (signing === undefined) return unchecked(`no --verify-key given, and ${source.path} has no signing section`)
  // The messages name the field and the reference, never the key.
  const privateKey = yield* Effect.result(resolveSecret("signing.privateKey", signing.privateKey))
  if (Result.isFailure(privateKey)) return unchecked(`${privateKey.failure.message}; pass --verify-key`)
  const key = signingKeyFromPem(privateKey.success)
  if (Result.isFailure(key)) return unchecked(`signing.privateKey: ${key.failure.message}; pass --verify-key`)
  return { _tag: "Verify", pem: key.success.verifyKey.pem } satisfies GetVerification
})

/** What `get` verifies the token with, from `--verify-key`, else the configuration file. */
export const getVerification = Effect.fnUntraced(function*(flags: {
  readonly verifyKey: Option.Option<string>
  readonly config: Option.Option<string>
}) {
  if (Option.isSome(flags.verifyKey)) return yield* fromFlag(flags.verifyKey.value)
  const source = yield* configPath(flags.config)
  return Option.isSome(source) ? yield* fromConfig(source.value) : unchecked("no --verify-key given")
})
