import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Logger, type LogLevel, Redacted } from "effect"
import { ConfigError } from "../../src/config/ConfigError.ts"
import type { ConfiguredProvider } from "../../src/config/ConfiguredProvider.ts"
import type { ResolvedClientCredentialsConfig } from "../../src/kinds/oauth2-client-credentials/OAuth2ClientCredentials.ts"
import { loadServiceConfig, parseServiceConfig, type ServiceConfig } from "../../src/config/ServiceConfig.ts"

const ENV_SECRET = "env-secret-7f3a9c"
const FILE_SECRET = "file-secret-b41d22"
const LITERAL_SECRET = "literal-secret-e5c081"
const ALL_SECRETS = [ENV_SECRET, FILE_SECRET, LITERAL_SECRET]

const env: Record<string, string> = { P44_CLIENT_SECRET: ENV_SECRET, OTHER_SECRET: "other-secret-0a0a0a" }

const tempDir = mkdtempSync(join(tmpdir(), "tokenbus-config-test-"))
afterAll(() => rmSync(tempDir, { recursive: true, force: true }))

const tempFile = (name: string, content: string): string => {
  const path = join(tempDir, name)
  writeFileSync(path, content)
  return path
}

type Json = Record<string, unknown>

const provider = (overrides: Json = {}): Json => ({
  id: "project44-eu",
  kind: "oauth2-client-credentials",
  tokenUrl: "https://na12.api.project44.com/api/v4/oauth2/token",
  clientId: "acme-client",
  clientSecret: { env: "P44_CLIENT_SECRET" },
  clientAuth: "basic",
  ...overrides
})

const configJson = (overrides: Json = {}): Json => ({
  nats: { servers: ["nats://127.0.0.1:4222"] },
  storage: { accessTokensInClear: true },
  providers: [provider()],
  ...overrides
})

const text = (json: Json): string => JSON.stringify(json, null, 2)

interface CapturedLog {
  readonly level: LogLevel.LogLevel
  readonly message: string
}

/** Parses `content` with the test environment as ConfigProvider and captures every log entry. */
const parse = (content: string, source = "tokenbus.json") =>
  Effect.gen(function*() {
    const logs: Array<CapturedLog> = []
    const capture = Logger.make(({ logLevel, message }) => {
      const parts = Array.isArray(message) ? message : [message]
      logs.push({ level: logLevel, message: parts.map((part) => String(part)).join(" ") })
    })
    const exit = yield* parseServiceConfig(content, source).pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })),
      Effect.provide(Logger.layer([capture])),
      Effect.exit
    )
    return { exit, logs }
  })

const decodes = (content: string) =>
  Effect.gen(function*() {
    const { exit, logs } = yield* parse(content)
    if (Exit.isFailure(exit)) throw new Error(`expected the config to decode, got ${String(exit.cause)}`)
    return { config: exit.value, logs }
  })

/** Runs the parse, expects a ConfigError and returns its message. */
const configError = (content: string, source = "tokenbus.json") =>
  Effect.gen(function*() {
    const { exit } = yield* parse(content, source)
    if (Exit.isSuccess(exit)) throw new Error("expected a ConfigError, but the config decoded")
    const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as ConfigError).message
    for (const secret of ALL_SECRETS) expect(message).not.toContain(secret)
    return message
  })

/** The providers of these tests are all of the client-credentials kind. */
const clientCredentials = (provider: ConfiguredProvider | undefined) => {
  if (provider?.kind !== "oauth2-client-credentials") throw new Error(`not a client-credentials provider: ${provider?.kind}`)
  return provider.resolved as ResolvedClientCredentialsConfig
}

const expectNoSecretIn = (config: ServiceConfig, secret: string) => {
  expect(JSON.stringify(config)).not.toContain(secret)
  expect(inspect(config, { depth: null })).not.toContain(secret)
  expect(String(clientCredentials(config.providers[0]).clientSecret)).toBe("<redacted>")
}

describe("parseServiceConfig: decoding", () => {
  it.effect("decodes a full config and applies the defaults", () =>
    Effect.gen(function*() {
      const { config, logs } = yield* decodes(text(configJson()))
      expect(config).toMatchObject({
        nats: { servers: ["nats://127.0.0.1:4222"] },
        prefix: "tokenbus",
        lease: { ttlMillis: 1500, renewEveryMillis: 300, safetyMarginMillis: 500 },
        requestTimeoutMillis: 5000
      })
      expect(config.providers).toHaveLength(1)
      const [p44] = config.providers
      expect(p44).toMatchObject({ id: "project44-eu", kind: "oauth2-client-credentials", lifecycle: { mode: "on-401" } })
      expect(p44?.resolved).toMatchObject({
        id: "project44-eu",
        kind: "oauth2-client-credentials",
        tokenUrl: "https://na12.api.project44.com/api/v4/oauth2/token",
        clientId: "acme-client",
        clientAuth: "basic",
        timeoutMillis: 10000
      })
      expect("scope" in clientCredentials(p44)).toBe(false)
      expect(logs.filter((log) => log.level === "Warn")).toEqual([])
    }))

  it.effect("keeps explicit values over the defaults", () =>
    Effect.gen(function*() {
      const { config } = yield* decodes(text(configJson({
        nats: { servers: ["nats://a:4222", "nats://b:4222"], name: "tokenbus-1" },
        prefix: "tb_staging-2",
        lease: { ttlMillis: 10000, renewEveryMillis: 2000, safetyMarginMillis: 500 },
        requestTimeoutMillis: 750,
        providers: [
          provider({ clientAuth: "body", scope: "read write", timeoutMillis: 2500 }),
          provider({ id: "project44-us", clientSecret: { env: "OTHER_SECRET" } })
        ]
      })))
      expect(config).toMatchObject({
        nats: { servers: ["nats://a:4222", "nats://b:4222"], name: "tokenbus-1" },
        prefix: "tb_staging-2",
        lease: { ttlMillis: 10000, renewEveryMillis: 2000, safetyMarginMillis: 500 },
        requestTimeoutMillis: 750
      })
      const providers = config.providers.map(clientCredentials)
      expect(providers.map((p) => [p.id, p.clientAuth, p.timeoutMillis])).toEqual([
        ["project44-eu", "body", 2500],
        ["project44-us", "basic", 10000]
      ])
      expect(providers[0]?.scope).toBe("read write")
      expect(providers.map((p) => Redacted.value(p.clientSecret))).toEqual([ENV_SECRET, "other-secret-0a0a0a"])
    }))

  it.effect("fails on invalid JSON, naming the source file", () =>
    Effect.gen(function*() {
      const message = yield* configError("{ \"nats\": ", "/etc/tokenbus/broken.json")
      expect(message).toContain("/etc/tokenbus/broken.json")
      expect(message).toMatch(/JSON/)
    }))

  it.effect("names the source file in every decoding error", () =>
    Effect.gen(function*() {
      const message = yield* configError(text(configJson({ providers: [] })), "/etc/tokenbus/config.json")
      expect(message).toContain("invalid configuration in /etc/tokenbus/config.json")
    }))

  const invalid: ReadonlyArray<{
    readonly name: string
    readonly json: Json
    readonly path: string
    readonly problem: RegExp
  }> = [
    {
      name: "an unknown clientAuth",
      json: configJson({ providers: [provider({ clientAuth: "header" })] }),
      path: `["providers"][0]["clientAuth"]`,
      problem: /"basic" \| "body"/
    },
    {
      name: "a missing tokenUrl",
      json: configJson({ providers: [provider({ tokenUrl: undefined })] }),
      path: `["providers"][0]["tokenUrl"]`,
      problem: /Missing key/
    },
    {
      name: "a tokenUrl that is not an http(s) URL",
      json: configJson({ providers: [provider({ tokenUrl: "ftp://files.example.com/token" })] }),
      path: `["providers"][0]["tokenUrl"]`,
      problem: /expected an http:\/\/ or https:\/\/ URL/
    },
    {
      name: "a provider id with forbidden characters",
      json: configJson({ providers: [provider({ id: "Project44 EU" })] }),
      path: `["providers"][0]["id"]`,
      problem: /provider id is 1-64 characters/
    },
    {
      name: "a provider id that is too long",
      json: configJson({ providers: [provider({ id: "p".repeat(65) })] }),
      path: `["providers"][0]["id"]`,
      problem: /provider id is 1-64 characters/
    },
    {
      name: "duplicate provider ids",
      json: configJson({ providers: [provider(), provider({ clientAuth: "body" })] }),
      path: `["providers"]`,
      problem: /provider ids must be unique/
    },
    {
      name: "no providers",
      json: configJson({ providers: [] }),
      path: `["providers"]`,
      problem: /length of at least 1/
    },
    {
      name: "a safety margin not below the lease ttl",
      json: configJson({ lease: { ttlMillis: 2000, renewEveryMillis: 100, safetyMarginMillis: 2000 } }),
      path: `["lease"]`,
      problem: /safetyMarginMillis must be smaller than ttlMillis/
    },
    {
      name: "renewals too rare for the lease",
      json: configJson({ lease: { ttlMillis: 6000, renewEveryMillis: 3000, safetyMarginMillis: 1000 } }),
      path: `["lease"]`,
      problem: /renewEveryMillis must leave room for at least two renewals/
    },
    {
      name: "a lease ttl under one second",
      json: configJson({ lease: { ttlMillis: 999, renewEveryMillis: 100, safetyMarginMillis: 0 } }),
      path: `["lease"]["ttlMillis"]`,
      problem: /greater than or equal to 1000/
    },
    {
      name: "a prefix that is not a single subject token",
      json: configJson({ prefix: "token.bus" }),
      path: `["prefix"]`,
      problem: /subject prefix is 1-32 characters/
    },
    {
      name: "an empty prefix",
      json: configJson({ prefix: "" }),
      path: `["prefix"]`,
      problem: /subject prefix is 1-32 characters/
    },
    {
      name: "no NATS servers",
      json: configJson({ nats: { servers: [] } }),
      path: `["nats"]["servers"]`,
      problem: /length of at least 1/
    },
    {
      name: "a zero provider timeout",
      json: configJson({ providers: [provider({ timeoutMillis: 0 })] }),
      path: `["providers"][0]["timeoutMillis"]`,
      problem: /greater than 0/
    },
    {
      name: "a fractional request timeout",
      json: configJson({ requestTimeoutMillis: 12.5 }),
      path: `["requestTimeoutMillis"]`,
      problem: /integer/i
    },
    {
      name: "a secret reference that is neither env nor file",
      json: configJson({ providers: [provider({ clientSecret: { vault: "p44" } })] }),
      path: `["providers"][0]["clientSecret"]`,
      problem: /Missing key/
    },
    {
      name: "an empty literal secret",
      json: configJson({ providers: [provider({ clientSecret: "" })] }),
      path: `["providers"][0]["clientSecret"]`,
      problem: /length of at least 1/
    },
    {
      name: "an empty env variable name",
      json: configJson({ providers: [provider({ clientSecret: { env: "" } })] }),
      path: `["providers"][0]["clientSecret"]["env"]`,
      problem: /length of at least 1/
    }
  ]

  for (const { json, name, path, problem } of invalid) {
    it.effect(`rejects ${name}, naming the field and the problem`, () =>
      Effect.gen(function*() {
        const message = yield* configError(text(json))
        expect(message).toContain(path)
        expect(message).toMatch(problem)
      }))
  }

  it.effect("does not echo a literal secret when another field is invalid", () =>
    Effect.gen(function*() {
      // configError checks that no secret appears in the message.
      const message = yield* configError(text(configJson({
        prefix: "bad prefix",
        providers: [provider({ clientSecret: LITERAL_SECRET, kind: "oauth2" })]
      })))
      expect(message).toContain("invalid configuration")
    }))
})

describe("parseServiceConfig: secrets", () => {
  it.effect("resolves { env } through the ConfigProvider into a Redacted value", () =>
    Effect.gen(function*() {
      const { config, logs } = yield* decodes(text(configJson()))
      const secret = clientCredentials(config.providers[0]).clientSecret
      expect(Redacted.isRedacted(secret)).toBe(true)
      expect(secret && Redacted.value(secret)).toBe(ENV_SECRET)
      expectNoSecretIn(config, ENV_SECRET)
      expect(logs.filter((log) => log.level === "Warn")).toEqual([])
    }))

  it.effect("reads the env variable from the provided ConfigProvider, not process.env", () =>
    Effect.gen(function*() {
      const name = "TOKENBUS_TEST_ONLY_IN_PROCESS_ENV"
      process.env[name] = "from-process-env"
      try {
        const message = yield* configError(text(configJson({ providers: [provider({ clientSecret: { env: name } })] })))
        expect(message).toContain(name)
      } finally {
        delete process.env[name]
      }
    }))

  it.effect("fails when the env variable is not set, naming the field and the variable", () =>
    Effect.gen(function*() {
      const message = yield* configError(text(configJson({
        providers: [provider(), provider({ id: "second", clientSecret: { env: "P44_UNSET_SECRET" } })]
      })))
      expect(message).toContain("providers[1].clientSecret")
      expect(message).toContain("P44_UNSET_SECRET")
      expect(message).toMatch(/not set/)
    }))

  it.effect("reads { file } and trims surrounding whitespace", () =>
    Effect.gen(function*() {
      const path = tempFile("p44-secret", `  ${FILE_SECRET}\n\n`)
      const { config, logs } = yield* decodes(text(configJson({ providers: [provider({ clientSecret: { file: path } })] })))
      const secret = clientCredentials(config.providers[0]).clientSecret
      expect(Redacted.isRedacted(secret)).toBe(true)
      expect(secret && Redacted.value(secret)).toBe(FILE_SECRET)
      expectNoSecretIn(config, FILE_SECRET)
      expect(logs.filter((log) => log.level === "Warn")).toEqual([])
    }))

  it.effect("fails when the secret file does not exist, naming the field and the file", () =>
    Effect.gen(function*() {
      const path = join(tempDir, "does-not-exist")
      const message = yield* configError(text(configJson({ providers: [provider({ clientSecret: { file: path } })] })))
      expect(message).toContain("providers[0].clientSecret")
      expect(message).toContain(path)
      expect(message).toMatch(/cannot read secret file/)
    }))

  it.effect("fails when the secret file holds only whitespace", () =>
    Effect.gen(function*() {
      const path = tempFile("blank-secret", " \n\t\n")
      const message = yield* configError(text(configJson({ providers: [provider({ clientSecret: { file: path } })] })))
      expect(message).toContain("providers[0].clientSecret")
      expect(message).toContain(path)
      expect(message).toMatch(/is empty/)
    }))

  it.effect("accepts a literal secret with a warning that names the field but not the secret", () =>
    Effect.gen(function*() {
      const { config, logs } = yield* decodes(text(configJson({
        providers: [provider(), provider({ id: "literal", clientSecret: LITERAL_SECRET })]
      })))
      const secret = clientCredentials(config.providers[1]).clientSecret
      expect(Redacted.isRedacted(secret)).toBe(true)
      expect(secret && Redacted.value(secret)).toBe(LITERAL_SECRET)
      expect(String(secret)).toBe("<redacted>")
      expect(JSON.stringify(config)).not.toContain(LITERAL_SECRET)
      expect(inspect(config, { depth: null })).not.toContain(LITERAL_SECRET)

      const warnings = logs.filter((log) => log.level === "Warn")
      expect(warnings).toHaveLength(1)
      expect(warnings[0]?.message).toContain("providers[1].clientSecret")
      for (const log of logs) expect(log.message).not.toContain(LITERAL_SECRET)
    }))

  it.effect("never puts a resolved secret into JSON.stringify of the config", () =>
    Effect.gen(function*() {
      const path = tempFile("p44-secret-2", FILE_SECRET)
      const { config } = yield* decodes(text(configJson({
        providers: [
          provider({ id: "from-env" }),
          provider({ id: "from-file", clientSecret: { file: path } }),
          provider({ id: "literal", clientSecret: LITERAL_SECRET })
        ]
      })))
      const json = JSON.stringify(config)
      for (const secret of ALL_SECRETS) expect(json).not.toContain(secret)
      expect(JSON.parse(json).providers.map((p: { resolved: { clientSecret: unknown } }) => p.resolved.clientSecret)).toEqual([
        "<redacted>",
        "<redacted>",
        "<redacted>"
      ])
      expect(config.providers.map((p) => Redacted.value(clientCredentials(p).clientSecret))).toEqual(ALL_SECRETS)
    }))
})

describe("loadServiceConfig", () => {
  it.effect("reads and parses a config file", () =>
    Effect.gen(function*() {
      const path = tempFile("tokenbus.json", text(configJson()))
      const config = yield* loadServiceConfig(path).pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
      )
      expect(config.providers[0]?.id).toBe("project44-eu")
    }))

  it.effect("fails with a ConfigError naming a missing file", () =>
    Effect.gen(function*() {
      const path = join(tempDir, "missing.json")
      const error = yield* loadServiceConfig(path).pipe(Effect.flip)
      expect(error).toBeInstanceOf(ConfigError)
      expect(error.message).toContain(`cannot read configuration file ${path}`)
    }))
})
