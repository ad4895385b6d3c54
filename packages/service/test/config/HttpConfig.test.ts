// The `http` and `log` sections of the configuration file: optional, checked
// when present, and an invalid value stops start-up naming the field.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { parseServiceConfig } from "../../src/config/ServiceConfig.ts"

const configWith = (sections: Record<string, unknown>) =>
  JSON.stringify({
    nats: { servers: ["nats://127.0.0.1:4222"] },
    storage: { accessTokensInClear: true },
    providers: [{
      id: "project44",
      kind: "oauth2-client-credentials",
      tokenUrl: "https://na12.api.project44.com/api/v4/oauth2/token",
      clientId: "acme",
      clientSecret: "a-literal-for-this-test",
      clientAuth: "basic"
    }],
    ...sections
  })

const parse = (sections: Record<string, unknown>) => parseServiceConfig(configWith(sections), "tokenbus.json")

describe("the http and log sections", () => {
  it.effect("are optional, and kept as given", () =>
    Effect.gen(function*() {
      const without = yield* parse({})
      assert.isUndefined(without.http)
      assert.isUndefined(without.log)
      const given = yield* parse({ http: { port: 8080, host: "127.0.0.1" }, log: { level: "Debug" } })
      assert.deepStrictEqual(given.http, { port: 8080, host: "127.0.0.1" })
      assert.deepStrictEqual(given.log, { level: "Debug" })
      assert.deepStrictEqual((yield* parse({ http: { port: 0 } })).http, { port: 0 })
    }))

  it.effect("refuse a port out of range, an empty host and an unknown level, naming the field", () =>
    Effect.gen(function*() {
      for (const [sections, field] of [
        [{ http: { port: 65_536 } }, `["http"]["port"]`],
        [{ http: { port: -1 } }, `["http"]["port"]`],
        [{ http: { port: 80, host: "" } }, `["http"]["host"]`],
        [{ log: { level: "Verbose" } }, `["log"]["level"]`]
      ] as const) {
        const error = yield* Effect.flip(parse(sections))
        assert.include(error.message, field, JSON.stringify(sections))
      }
    }))
})
