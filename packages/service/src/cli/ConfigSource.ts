/**
 * Where `tokenbus serve` reads its configuration file: the `--config` flag
 * (`-c`), or `TOKENBUS_CONFIG` when the flag is not given. Every failure
 * names the one it came from and what it must be, so an operator knows which
 * setting of the deployment to fix. The CLI's other commands find the file
 * the same way, but run without one (CliConnection.ts).
 */
import { readFile } from "node:fs/promises"
import { Config, Effect, Option } from "effect"
import { ConfigError } from "../config/ConfigError.ts"
import { parseServiceConfig } from "../config/ServiceConfig.ts"

export const configVariable = "TOKENBUS_CONFIG"

const expected = "the path of the JSON configuration file"

export interface ConfigSource {
  /** How the setting is named in messages: `--config` or `TOKENBUS_CONFIG`. */
  readonly setting: string
  readonly path: string
}

/** `--config`, else `TOKENBUS_CONFIG` as it is set (blank, perhaps); none when neither is. */
const givenSource = Effect.fnUntraced(function*(flag: Option.Option<string>) {
  if (Option.isSome(flag)) return Option.some<ConfigSource>({ setting: "--config", path: flag.value })
  const variable = yield* Config.option(Config.String(configVariable)).pipe(
    Effect.mapError(() => new ConfigError({ message: `${configVariable} cannot be read` }))
  )
  return Option.map(variable, (path): ConfigSource => ({ setting: configVariable, path }))
})

const blankVariable = (source: ConfigSource) => source.setting === configVariable && source.path.trim() === ""

/** For the commands that run without a file too (`get`, `reset`): none unless one is given, a blank variable none. */
export const optionalConfigSource = (flag: Option.Option<string>) =>
  Effect.map(givenSource(flag), Option.filter((source) => !blankVariable(source)))

const configSource = Effect.fnUntraced(function*(flag: Option.Option<string>) {
  const source = yield* givenSource(flag)
  if (Option.isNone(source)) {
    const message = `no configuration: pass --config with ${expected}, or set ${configVariable}`
    return yield* new ConfigError({ message })
  }
  if (blankVariable(source.value)) {
    return yield* new ConfigError({ message: `${configVariable} is empty; set it to ${expected}, or pass --config` })
  }
  return source.value
})

/** The configuration `--config` or `TOKENBUS_CONFIG` points to, its secrets resolved. */
export const loadConfig = Effect.fnUntraced(function*(flag: Option.Option<string>) {
  const { path, setting } = yield* configSource(flag)
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => {
      const why = cause instanceof Error ? cause.message : String(cause)
      return new ConfigError({ message: `${setting} ${path} cannot be read (${why}); it must be ${expected}` })
    }
  })
  return yield* parseServiceConfig(text, path)
})
