/**
 * The `nats` section of the configuration file: the servers, the
 * connection's name, how many copies of each KV bucket JetStream keeps, and,
 * for a NATS that asks, the credential (`auth`) and TLS (`tls`). `auth` is
 * one method: `{ user, password }`, `{ token }`, `{ nkeySeed }` or `{ creds }`
 * (a `.creds` file's content, so usually `{ "file": path }`); its secrets are
 * references (Secret.ts), resolved into `Redacted` values like a provider's.
 */
import { type NatsAuth, type NatsConnectionOptions, natsTlsProblem } from "@tokenbus/nats"
import { Effect, Schema } from "effect"
import type { ConfigError } from "./ConfigError.ts"
import { resolveSecret, SecretRef } from "./Secret.ts"

const methods = ["user", "token", "nkeySeed", "creds"] as const

/**
 * Every method's keys are optional in the schema, so a wrong mix gets one
 * message saying what to give, instead of a failed match against each shape.
 */
const authProblem = (auth: { readonly [key: string]: unknown }) => {
  const given = methods.filter((method) => auth[method] !== undefined || (method === "user" && "password" in auth))
  if (given.length === 0) return `give one of { user, password }, { token }, { nkeySeed } or { creds }`
  if (given.length > 1) return `give one method only, not ${given.join(" and ")}`
  if (given[0] !== "user") return undefined
  if (auth["password"] === undefined) return { path: ["password"], issue: "user needs a password" }
  return auth["user"] === undefined ? { path: ["user"], issue: "password needs its user" } : undefined
}

export const NatsAuthConfig = Schema.Struct({
  user: Schema.optionalKey(Schema.NonEmptyString),
  password: Schema.optionalKey(SecretRef),
  token: Schema.optionalKey(SecretRef),
  nkeySeed: Schema.optionalKey(SecretRef),
  /** The content of a `.creds` file: `{ "file": "/run/secrets/tokenbus.creds" }`. */
  creds: Schema.optionalKey(SecretRef)
}).check(Schema.makeFilter(authProblem))
export type NatsAuthConfig = typeof NatsAuthConfig.Type

export const NatsTlsConfig = Schema.Struct({
  /** The CA the server's certificate is checked against; absent, the system's. */
  caFile: Schema.optionalKey(Schema.NonEmptyString),
  /** With `keyFile`: the client certificate of mutual TLS (PEM). */
  certFile: Schema.optionalKey(Schema.NonEmptyString),
  keyFile: Schema.optionalKey(Schema.NonEmptyString)
}).check(Schema.makeFilter((tls) => natsTlsProblem(tls) ?? true))

export const NatsSettingsSchema = Schema.Struct({
  servers: Schema.Array(Schema.NonEmptyString).check(Schema.isMinLength(1)),
  name: Schema.optionalKey(Schema.String),
  /**
   * Copies JetStream keeps of each KV bucket (1 to 5, JetStream's limit). Absent: as many as the cluster has
   * servers, up to 3, never fewer than a bucket already has. Applied to existing buckets at start.
   */
  replicas: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 }))),
  auth: Schema.optionalKey(NatsAuthConfig),
  /** Given (even `{}`), the connection must be TLS. */
  tls: Schema.optionalKey(NatsTlsConfig),
  /** The prefix of the connection's reply subjects, for a user allowed only its own inbox (docs/permissions.md). */
  inboxPrefix: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[^\s*>]+$/, {
    message: "an inbox prefix is a subject without wildcards or spaces, such as _INBOX_tokenbus-replica"
  })))
})
export type NatsSettingsFile = typeof NatsSettingsSchema.Type

/** The `nats` section with its secrets read. */
export interface NatsSettings extends Omit<NatsSettingsFile, "auth"> {
  readonly auth?: NatsAuth
}

/** Reads the credential's secret; `field` (`nats.auth`) names it in errors. */
export const resolveNatsAuth = (auth: NatsAuthConfig, field = "nats.auth"): Effect.Effect<NatsAuth, ConfigError> => {
  const read = (key: string, ref: SecretRef) => resolveSecret(`${field}.${key}`, ref)
  const { creds, nkeySeed, password, token, user } = auth
  if (user !== undefined && password !== undefined) {
    return read("password", password).pipe(Effect.map((secret) => ({ user, password: secret })))
  }
  if (token !== undefined) return read("token", token).pipe(Effect.map((t) => ({ token: t })))
  if (nkeySeed !== undefined) return read("nkeySeed", nkeySeed).pipe(Effect.map((s) => ({ nkeySeed: s })))
  if (creds !== undefined) return read("creds", creds).pipe(Effect.map((c) => ({ creds: c })))
  // The schema's check lets no other shape through.
  return Effect.die(new Error(`${field}: no method`))
}

export const resolveNatsSettings = (settings: NatsSettingsFile): Effect.Effect<NatsSettings, ConfigError> => {
  const { auth, ...rest } = settings
  if (auth === undefined) return Effect.succeed(rest)
  return resolveNatsAuth(auth).pipe(Effect.map((resolved) => ({ ...rest, auth: resolved })))
}

/** What a connection made from `settings` is given; `name` is the default connection name. */
export const natsConnectionOptions = (settings: NatsSettings, name: string): NatsConnectionOptions => ({
  servers: settings.servers,
  name: settings.name ?? name,
  ...(settings.auth === undefined ? {} : { auth: settings.auth }),
  ...(settings.tls === undefined ? {} : { tls: settings.tls }),
  ...(settings.inboxPrefix === undefined ? {} : { inboxPrefix: settings.inboxPrefix })
})
