/**
 * The logging every `tokenbus` command runs with: pino JSON lines at the
 * level `TOKENBUS_LOG_LEVEL` names, Info when it is not set. A value that is
 * not one of the level names stops start-up with one line listing them:
 * guessing what "Warning" or "verbose" meant would hide a typo in a
 * deployment, and a silent exit would hide everything.
 */
import { Config, Effect, Layer, LogLevel, Option } from "effect"
import { ConfigError } from "../config/ConfigError.ts"
import * as PinoLogger from "../logging/PinoLogger.ts"

export const logLevelVariable = "TOKENBUS_LOG_LEVEL"

const isLogLevel = (value: string): value is LogLevel.LogLevel =>
  (LogLevel.values as ReadonlyArray<string>).includes(value)

/** The level `TOKENBUS_LOG_LEVEL` names, or Info. */
export const logLevelFromEnv: Effect.Effect<LogLevel.LogLevel, ConfigError> = Effect.gen(function*() {
  const value = yield* Config.option(Config.String(logLevelVariable)).pipe(
    Effect.mapError(() => new ConfigError({ message: `${logLevelVariable} cannot be read` }))
  )
  if (Option.isNone(value)) return "Info"
  if (isLogLevel(value.value)) return value.value
  const levels = LogLevel.values.join(", ")
  return yield* new ConfigError({
    message: `${logLevelVariable}=${JSON.stringify(value.value)} is not a log level; use one of ${levels}`
  })
})

export const layer: Layer.Layer<never, ConfigError> = Layer.unwrap(Effect.map(logLevelFromEnv, PinoLogger.layer))
