/**
 * Effect's logger, written by pino: one JSON line per entry on stdout, with
 * the fiber's log annotations (provider, replica, version...) as fields.
 * `Redacted` values print as `<redacted>` wherever they appear, so a secret
 * passed to a log by mistake still does not leak. Behind that wall, a field
 * whose name says it holds a secret (`password`, `client_secret`,
 * `accessToken`, `authorization`...) prints as `<redacted>` too, whatever it
 * holds: as a field (down to `secretFieldDepth` levels) and inside an object
 * logged as part of the message. The same lines can be
 * printed for a person instead (`pretty`: pino-pretty, one coloured line per
 * entry, fields below it): the redaction happens before either.
 */
import { Cause, Layer, Logger, type LogLevel, Redacted, References } from "effect"
import { pino } from "pino"
import pretty from "pino-pretty"

const pinoLevel: Record<LogLevel.LogLevel, pino.Level | undefined> = {
  All: "trace",
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warn: "warn",
  Error: "error",
  Fatal: "fatal",
  None: undefined
}

/** Names of fields that hold a secret, in every spelling the code, OAuth2, HTTP and NATS give them. */
export const secretFields: ReadonlyArray<string> = [
  "password",
  "passphrase",
  "secret",
  "clientSecret",
  "client_secret",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "idToken",
  "id_token",
  "token",
  "applicationToken",
  "authorization",
  "Authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "apiKey",
  "api_key",
  "x-api-key",
  "privateKey",
  "private_key",
  "nkeySeed",
  "seed",
  "creds",
  "jwt",
  "carry"
]

/** How deep below a line's top level a secret field is still redacted: `a.b.c.password`. */
export const secretFieldDepth = 3

const censor = "<redacted>"

const secretFieldNames = new Set(secretFields.map((field) => field.toLowerCase()))

/** A value printed inside a message part: Redacted values and secret fields, at any depth, as `<redacted>`. */
const replacer = (key: string, value: unknown): unknown =>
  Redacted.isRedacted(value) || (key !== "" && secretFieldNames.has(key.toLowerCase()) && value !== undefined)
    ? censor
    : value

const text = (part: unknown): string =>
  typeof part === "string"
    ? part
    : Redacted.isRedacted(part)
    ? String(part)
    : part instanceof Error
    ? part.stack ?? part.message
    : safeJson(part)

const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value, replacer) ?? String(value)
  } catch {
    return String(value)
  }
}

/** pino's own keys; an annotation with one of these names is prefixed so it cannot shadow them. */
const reserved = new Set(["level", "time", "pid", "msg", "cause"])

const isSecretField = (key: string, value: unknown): boolean =>
  value !== undefined && secretFieldNames.has(key.toLowerCase())

const hasToJson = (value: object): value is { toJSON: () => unknown } =>
  typeof (value as { readonly toJSON?: unknown }).toJSON === "function"

/**
 * `value` with every secret field down to `secretFieldDepth` levels below the line's top level as `<redacted>`,
 * copied only where something is nested: most lines' fields are strings and numbers, and cost one lookup each.
 */
const redactNested = (value: unknown, depth: number): unknown => {
  if (Redacted.isRedacted(value)) return String(value)
  if (depth > secretFieldDepth || typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return value.map((item) => redactNested(item, depth + 1))
  // What the line will show of it: its toJSON (a Date, a Data class) or, as JSON.stringify takes any other
  // instance, its own enumerable fields, which are redacted like a plain object's.
  const shown = hasToJson(value) ? value.toJSON() : value
  if (shown !== value) return redactNested(shown, depth)
  const copy: Record<string, unknown> = {}
  for (const [key, nested] of Object.entries(value)) {
    copy[key] = isSecretField(key, nested) ? censor : redactNested(nested, depth + 1)
  }
  return copy
}

const fieldsOf = (annotations: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(annotations)) {
    fields[reserved.has(key) ? `annotation.${key}` : key] = isSecretField(key, value) ? censor : redactNested(value, 1)
  }
  return fields
}

export interface PinoOptions {
  /** Human-readable lines (pino-pretty) instead of JSON. */
  readonly pretty?: boolean
}

/** Where the lines go: stdout, written synchronously so that a line logged just before exit is not lost. */
const stdout = (options: PinoOptions): pino.DestinationStream =>
  options.pretty === true
    ? pretty({ sync: true, destination: 1, colorize: process.stdout.isTTY === true })
    : pino.destination({ sync: true })

export const make = (destination: pino.DestinationStream = stdout({})) => {
  // Fields are redacted here (fieldsOf), not by pino's path redaction: it cost 5 % of a replica's CPU while it
  // took over a thousand providers, one log line each.
  const options = { base: { pid: process.pid }, level: "trace" }
  const logger = pino(options, destination)
  return Logger.make(({ cause, fiber, logLevel, message }) => {
    const level = pinoLevel[logLevel]
    if (level === undefined) return
    const parts = Array.isArray(message) ? message : [message]
    const fields = fieldsOf(fiber.getRef(References.CurrentLogAnnotations))
    if (cause.reasons.length > 0) fields.cause = Cause.pretty(cause)
    logger[level](fields, parts.map(text).join(" "))
  })
}

/** Replaces Effect's default logger and drops entries below `level` before they are formatted. */
export const layer = (level: LogLevel.LogLevel = "Info", options: PinoOptions = {}) =>
  Layer.mergeAll(Logger.layer([make(stdout(options))]), Layer.succeed(References.MinimumLogLevel, level))
