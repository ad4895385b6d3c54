/**
 * Secrets in the config file are references: `{ "env": "NAME" }` or
 * `{ "file": "/run/secrets/name" }`, so the file itself can be committed or
 * shown. A literal string still works, with a warning, for local trials.
 * Resolved values are `Redacted` from the moment they are read. A reference
 * that cannot be read is named in the error only when it looks like a
 * variable name or a path: one that does not may be the secret itself,
 * written where its name goes.
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

/** A variable name as deployments write them; anything else is not repeated in an error. */
const shownVariable = (name: string): string =>
  /^[A-Z_][A-Z0-9_]*$/.test(name) ? `environment variable ${name}` : "the environment variable its `env` names"

/** An absolute or explicitly relative path; anything else is not repeated in an error. */
const shownFile = (path: string): string =>
  path.startsWith("/") || path.startsWith("./") || path.startsWith("../")
    ? `secret file ${path}`
    : "the secret file its `file` names"

/** Why a file cannot be read, by its error code: Node's message repeats the path. */
const unreadable = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
  if (code === "ENOENT") return "it does not exist"
  if (code === "EACCES" || code === "EPERM") return "permission denied"
  if (code === "EISDIR") return "it is a directory"
  return code === undefined ? "it cannot be read" : `it cannot be read (${code})`
}

/** Reads the secret `ref` points to; `field` names it in errors and warnings. */
export const resolveSecret = Effect.fnUntraced(function*(field: string, ref: SecretRef) {
  if (typeof ref === "string") {
    yield* Effect.logWarning(`${field} is written in the config file; prefer { "env": NAME } or { "file": PATH }`)
    return Redacted.make(ref)
  }
  if ("env" in ref) {
    return yield* Config.Redacted(ref.env).pipe(
      Effect.mapError(() => new ConfigError({ message: `${field}: ${shownVariable(ref.env)} is not set` }))
    )
  }
  const text = yield* Effect.tryPromise({
    try: () => readFile(ref.file, "utf8"),
    catch: (cause) => new ConfigError({ message: `${field}: cannot read ${shownFile(ref.file)}: ${unreadable(cause)}` })
  })
  const secret = text.trim()
  if (secret.length === 0) return yield* new ConfigError({ message: `${field}: ${shownFile(ref.file)} is empty` })
  return Redacted.make(secret)
})
