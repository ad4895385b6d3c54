/**
 * The logging every `tokenbus` command runs with: pino JSON lines at the
 * level `TOKENBUS_LOG_LEVEL` names, Info when it is not set; pretty lines
 * (pino-pretty) when stdout is a terminal. A value that is
 * not one of the level names stops start-up with one line listing them:
 * guessing what "Warning" or "verbose" meant would hide a typo in a
 * deployment, and a silent exit would hide everything. `serve` and `dev`
 * log again once they know more (`forService`): the configuration's
 * `log.level` when the variable is not set, and `--pretty`.
 */
import { Config, Effect, Layer, LogLevel, Option } from "effect"
import { ConfigError } from "../config/ConfigError.ts"
import type { LogConfig } from "../config/HttpConfig.ts"
import * as PinoLogger from "../logging/PinoLogger.ts"

export const logLevelVariable = "TOKENBUS_LOG_LEVEL"

const isLogLevel = (value: string): value is LogLevel.LogLevel =>
  (LogLevel.values as ReadonlyArray<string>).includes(value)

/** The level `TOKENBUS_LOG_LEVEL` names, if it is set. */
const logLevelSet: Effect.Effect<Option.Option<LogLevel.LogLevel>, ConfigError> = Effect.gen(function*() {
  const value = yield* Config.option(Config.String(logLevelVariable)).pipe(
    Effect.mapError(() => new ConfigError({ message: `${logLevelVariable} cannot be read` }))
  )
  if (Option.isNone(value)) return Option.none()
  if (isLogLevel(value.value)) return Option.some(value.value)
  const levels = LogLevel.values.join(", ")
  return yield* new ConfigError({
    message: `${logLevelVariable}=${JSON.stringify(value.value)} is not a log level; use one of ${levels}`
  })
})

/** The level `TOKENBUS_LOG_LEVEL` names, or Info. */
export const logLevelFromEnv: Effect.Effect<LogLevel.LogLevel, ConfigError> = Effect.map(
  logLevelSet,
  Option.getOrElse((): LogLevel.LogLevel => "Info")
)

/** Pretty lines for a person at a terminal, JSON for everything else (a log collector reads stdout). */
const prettyByDefault = (): boolean => process.stdout.isTTY === true

export const layer: Layer.Layer<never, ConfigError> = Layer.unwrap(
  Effect.map(logLevelFromEnv, (level) => PinoLogger.layer(level, { pretty: prettyByDefault() }))
)

/** A replica's logging: `TOKENBUS_LOG_LEVEL`, else the file's `log.level`, else Info; pretty with `--pretty`. */
export const forService = (log: LogConfig | undefined, pretty: boolean): Layer.Layer<never, ConfigError> =>
  Layer.unwrap(Effect.map(logLevelSet, (level) =>
    PinoLogger.layer(Option.getOrElse(level, () => log?.level ?? "Info"), { pretty: pretty || prettyByDefault() })))
