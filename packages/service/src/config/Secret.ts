/**
 * Secrets in the config file are references: `{ "env": "NAME" }` or
 * `{ "file": "/run/secrets/name" }`, so the file itself can be committed or
 * shown. A literal string still works, with a warning, for local trials.
 * Resolved values are `Redacted` from the moment they are read.
 */
import { readFile } from "node:fs/promises"
import { Config, Effect, Redacted, Schema } from "effect"
import { ConfigError } from "./ConfigError.ts"

export const SecretRef = Schema.Union([
  Schema.NonEmptyString,
  Schema.Struct({ env: Schema.NonEmptyString }),
  Schema.Struct({ file: Schema.NonEmptyString })
])
export type SecretRef = typeof SecretRef.Type

/** Reads the secret `ref` points to; `field` names it in errors and warnings. */
export const resolveSecret = Effect.fnUntraced(function*(field: string, ref: SecretRef) {
  if (typeof ref === "string") {
    yield* Effect.logWarning(`${field} is written in the config file; prefer { "env": NAME } or { "file": PATH }`)
    return Redacted.make(ref)
  }
  if ("env" in ref) {
    return yield* Config.Redacted(ref.env).pipe(
      Effect.mapError(() => new ConfigError({ message: `${field}: environment variable ${ref.env} is not set` }))
    )
  }
  const text = yield* Effect.tryPromise({
    try: () => readFile(ref.file, "utf8"),
    catch: (cause) =>
      new ConfigError({ message: `${field}: cannot read secret file ${ref.file}: ${(cause as Error).message}` })
  })
  const secret = text.trim()
  if (secret.length === 0) return yield* new ConfigError({ message: `${field}: secret file ${ref.file} is empty` })
  return Redacted.make(secret)
})
