// The limits `status` and `watch` count budgets against: the configuration's
// providers and their `rateLimit`, read without their secrets (a secret
// reference that cannot be resolved here does not matter), the default
// limit where the file gives none, and without a file the default for all.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { defaultRateLimit } from "@tokenbus/core"
import { ConfigProvider, Effect, Option } from "effect"
import { providerLimits } from "../../src/cli/ProviderLimits.ts"

const dir = mkdtempSync(join(tmpdir(), "tokenbus-provider-limits-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const configFile = join(dir, "tokenbus.json")
writeFileSync(configFile, JSON.stringify({
  nats: { servers: ["nats://127.0.0.1:4222"] },
  providers: [
    {
      id: "project44",
      kind: "oauth2-client-credentials",
      clientSecret: { env: "UNSET_VARIABLE_OF_THIS_TEST" },
      rateLimit: { tokens: 3, windowMillis: 30_000 }
    },
    { id: "itempath", kind: "itempath" }
  ]
}))

const noVariable = Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: {} }))

describe("providerLimits", () => {
  it.effect("reads each configured provider's limit, and the default for one without", () =>
    Effect.gen(function*() {
      const limits = yield* providerLimits(Option.some(configFile))
      assert.deepStrictEqual(limits.providers, ["project44", "itempath"])
      const configured = { limit: { tokens: 3, windowMillis: 30_000 }, from: "config" }
      assert.deepStrictEqual(limits.limitOf("project44"), configured)
      assert.deepStrictEqual(limits.limitOf("itempath"), { limit: defaultRateLimit, from: "config" })
      assert.deepStrictEqual(limits.limitOf("elsewhere"), { limit: defaultRateLimit, from: "default" })
    }).pipe(noVariable))

  it.effect("counts every provider against the default limit without a file", () =>
    Effect.gen(function*() {
      const limits = yield* providerLimits(Option.none())
      assert.deepStrictEqual(limits.providers, [])
      assert.deepStrictEqual(limits.limitOf("project44"), { limit: defaultRateLimit, from: "default" })
    }).pipe(noVariable))

  it.effect("names the file when it does not read", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(providerLimits(Option.some(join(dir, "missing.json"))))
      assert.include(error.message, `--config ${join(dir, "missing.json")} cannot be read`)
    }).pipe(noVariable))
})
