// `nats.inboxPrefix`: the prefix of a replica's reply subjects, for a NATS
// user allowed to subscribe only under its own (docs/permissions.md). It
// reaches the connection options as written; one with a wildcard or a space,
// which no subscription permission could grant, stops start-up naming it.
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit } from "effect"
import { natsConnectionOptions } from "../../src/config/NatsSettings.ts"
import { parseServiceConfig } from "../../src/config/ServiceConfig.ts"

const parse = (inboxPrefix: unknown) =>
  parseServiceConfig(
    JSON.stringify({
      nats: { servers: ["nats://nats.internal:4222"], inboxPrefix },
      storage: { accessTokensInClear: true },
      providers: [{ id: "static", kind: "static", token: { env: "STATIC_TOKEN" } }]
    }),
    "tokenbus.json"
  ).pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { STATIC_TOKEN: "token" } })),
    Effect.exit
  )

describe("nats.inboxPrefix", () => {
  it.effect("reaches the connection options as written", () =>
    Effect.gen(function*() {
      const exit = yield* parse("_INBOX_tokenbus-replica")
      if (Exit.isFailure(exit)) return assert.fail(`expected the config to decode, got ${String(exit.cause)}`)
      const options = natsConnectionOptions(exit.value.nats, "tokenbus-replica")
      assert.strictEqual(options.inboxPrefix, "_INBOX_tokenbus-replica")
    }))

  it.effect("absent, leaves nats.js its default", () =>
    Effect.gen(function*() {
      const exit = yield* parse(undefined)
      if (Exit.isFailure(exit)) return assert.fail(`expected the config to decode, got ${String(exit.cause)}`)
      assert.isFalse("inboxPrefix" in natsConnectionOptions(exit.value.nats, "tokenbus-replica"))
    }))

  for (const wrong of ["_INBOX.>", "_INBOX.*", "my inbox", ""]) {
    it.effect(`refuses ${JSON.stringify(wrong)}, naming the field`, () =>
      Effect.gen(function*() {
        const exit = yield* parse(wrong)
        if (Exit.isSuccess(exit)) return assert.fail("expected the config to be refused")
        const message = String(exit.cause)
        assert.include(message, "inboxPrefix")
        assert.include(message, "an inbox prefix is a subject without wildcards or spaces")
      }))
  }
})
