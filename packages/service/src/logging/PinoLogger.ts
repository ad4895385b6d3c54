/**
 * Effect's logger, written by pino: one JSON line per entry on stdout, with
 * the fiber's log annotations (provider, replica, version...) as fields.
 * `Redacted` values print as `<redacted>` wherever they appear, so a secret
 * passed to a log by mistake still does not leak.
 */
import { Cause, Layer, Logger, type LogLevel, Redacted, References } from "effect"
import { pino } from "pino"

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
    return JSON.stringify(value, (_key, v) => (Redacted.isRedacted(v) ? String(v) : v)) ?? String(value)
  } catch {
    return String(value)
  }
}

/** pino's own keys; an annotation with one of these names is prefixed so it cannot shadow them. */
const reserved = new Set(["level", "time", "pid", "msg", "cause"])

const fieldsOf = (annotations: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(annotations)) {
    fields[reserved.has(key) ? `annotation.${key}` : key] = Redacted.isRedacted(value) ? String(value) : value
  }
  return fields
}

export const make = (destination: pino.DestinationStream = pino.destination({ sync: true })) => {
  const logger = pino({ base: { pid: process.pid }, level: "trace" }, destination)
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
export const layer = (level: LogLevel.LogLevel = "Info") =>
  Layer.mergeAll(Logger.layer([make()]), Layer.succeed(References.MinimumLogLevel, level))
