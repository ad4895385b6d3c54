// Which level a replica logs at: `TOKENBUS_LOG_LEVEL` when it is set (an
// operator's override), else the configuration's `log.level`, else Info;
// an invalid variable stops start-up rather than being guessed at.
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, References } from "effect"
import { forService } from "../../src/cli/Logging.ts"

const levelWith = (env: Record<string, string>, level?: "Debug" | "Warn") =>
  Effect.gen(function*() {
    const layer = forService(level === undefined ? undefined : { level }, false).pipe(
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env)))
    )
    return Context.get(yield* Layer.build(layer), References.MinimumLogLevel)
  })

describe("a replica's log level", () => {
  it.effect("is the configuration's log.level when TOKENBUS_LOG_LEVEL is not set", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* levelWith({}, "Debug"), "Debug")
      assert.strictEqual(yield* levelWith({}), "Info")
    }))

  it.effect("is TOKENBUS_LOG_LEVEL when set, whatever the configuration says", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* levelWith({ TOKENBUS_LOG_LEVEL: "Warn" }, "Debug"), "Warn")
    }))

  it.effect("stops on a TOKENBUS_LOG_LEVEL that is no level, naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(levelWith({ TOKENBUS_LOG_LEVEL: "verbose" }, "Debug"))
      assert.include(error.message, "TOKENBUS_LOG_LEVEL=\"verbose\" is not a log level")
    }))
})
