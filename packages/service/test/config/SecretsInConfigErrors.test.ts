// No secret of a configuration reaches what start-up says: canary secrets,
// written inline, in the environment and in files, are driven through every
// kind's bad shapes, references that cannot be read, and files that are not
// JSON; the ConfigError's message and every log line written (through the
// real PinoLogger) must hold none of them. A secret written where a
// reference's name goes (`{ "env": <the secret> }`) is the case that leaked.
// A static token's reference is read at each mint, not at start: those cases
// are minted too.
// A failure names the case and the canary, never the canary's text.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { randomBytes } from "node:crypto"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Logger, References } from "effect"
import { FetchHttpClient } from "effect/http"
import { ConfigError } from "../../src/config/ConfigError.ts"
import { parseServiceConfig, type ServiceConfig } from "../../src/config/ServiceConfig.ts"
import * as PinoLogger from "../../src/logging/PinoLogger.ts"

const tag = randomBytes(4).toString("hex")
const canaries = {
  "the client secret": `canary-secret-7f3a${tag}`,
  "the password": `canary-password-91c2${tag}`,
  "the refresh token": `canary-refresh-4be8${tag}`,
  "the access token": `canary-access-d05f${tag}`
} as const
const { "the access token": ACCESS, "the client secret": SECRET, "the password": PASSWORD } = canaries
const REFRESH = canaries["the refresh token"]

/** The key KV is sealed with (a carry is stored only sealed): a secret too. */
const STORAGE_KEY = randomBytes(32).toString("base64")

const env = {
  CANARY_SECRET: SECRET,
  CANARY_PASSWORD: PASSWORD,
  CANARY_REFRESH: REFRESH,
  CANARY_ACCESS: ACCESS,
  CANARY_STORAGE_KEY: STORAGE_KEY
}

const dir = mkdtempSync(join(tmpdir(), "tokenbus-canary-config-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const secretFile = (name: string, content: string) => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}
const files = {
  secret: secretFile("secret", SECRET),
  password: secretFile("password", PASSWORD),
  refresh: secretFile("refresh", REFRESH),
  access: secretFile("access", `${ACCESS}\n`),
  empty: secretFile("empty", " \n"),
  directory: join(dir, "a-directory")
}
mkdirSync(files.directory)

type Json = Record<string, unknown>
interface Secrets {
  readonly secret: unknown
  readonly password: unknown
  readonly refresh: unknown
  readonly access: unknown
}

const inline: Secrets = { secret: SECRET, password: PASSWORD, refresh: REFRESH, access: { env: "CANARY_ACCESS" } }
const fromEnv: Secrets = {
  secret: { env: "CANARY_SECRET" },
  password: { env: "CANARY_PASSWORD" },
  refresh: { env: "CANARY_REFRESH" },
  access: { env: "CANARY_ACCESS" }
}
const fromFiles: Secrets = {
  secret: { file: files.secret },
  password: { file: files.password },
  refresh: { file: files.refresh },
  access: { file: files.access }
}

/** One provider of each kind, its secrets as `secrets` gives them. */
const kinds = (secrets: Secrets): Record<string, Json> => ({
  "oauth2-client-credentials": {
    id: "p44",
    kind: "oauth2-client-credentials",
    tokenUrl: "https://auth.example.test/token",
    clientId: "client",
    clientSecret: secrets.secret,
    clientAuth: "basic"
  },
  "oauth2-refresh-token": {
    id: "crm",
    kind: "oauth2-refresh-token",
    tokenUrl: "https://auth.example.test/token",
    clientId: "client",
    clientSecret: secrets.secret,
    clientAuth: "body",
    refreshToken: secrets.refresh
  },
  itempath: {
    id: "wms",
    kind: "itempath",
    baseUrl: "https://wms.example.test",
    username: "robot",
    password: secrets.password
  },
  static: { id: "fixed", kind: "static", token: secrets.access }
})

const secretField: Record<string, string> = {
  "oauth2-client-credentials": "clientSecret",
  "oauth2-refresh-token": "refreshToken",
  itempath: "password",
  static: "token"
}

const storage = { keys: [{ id: "k1", key: { env: "CANARY_STORAGE_KEY" } }], writeKey: "k1" }

const config = (providers: ReadonlyArray<Json>, nats: Json = {}): string =>
  JSON.stringify({ nats: { servers: ["nats://127.0.0.1:4222"], ...nats }, storage, providers })

/** What start-up says about `text`: the error's message (if it failed) and every log line, as text. */
const startUp = (text: string) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const exit = yield* parseServiceConfig(text, "tokenbus.json").pipe(
      Effect.provide(Logger.layer([PinoLogger.make({ write: (line: string) => void lines.push(line) })])),
      Effect.provideService(References.MinimumLogLevel, "All"),
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })),
      Effect.exit
    )
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error : undefined
    return { exit, error, lines }
  })

/** Where in `outputs` (named) each canary shows: "case: the password in the error". */
const leaks = (name: string, outputs: Record<string, string>): ReadonlyArray<string> =>
  Object.entries(outputs).flatMap(([where, text]) =>
    Object.entries({ ...canaries, "the storage key": STORAGE_KEY }).flatMap(([what, canary]) =>
      text.includes(canary) ? [`${name}: ${what} in ${where}`] : []
    )
  )

/** Every static provider of `resolved` minted once: a static token's reference is read at each mint, not at start. */
const mintStatic = (resolved: ServiceConfig) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const errors: Array<string> = []
    for (const provider of resolved.providers.filter((provider) => provider.kind === "static")) {
      const minted = yield* provider.minter.mint({ carry: undefined }).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.provide(Logger.layer([PinoLogger.make({ write: (line: string) => void lines.push(line) })])),
        Effect.provideService(References.MinimumLogLevel, "All"),
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })),
        Effect.result
      )
      if (minted._tag === "Failure") errors.push(minted.failure.message, JSON.stringify(minted.failure))
    }
    return { lines, errors }
  })

/**
 * Runs `text`, which must fail with a ConfigError (or, when `atMint`, may
 * start, and its static providers are minted); where its message, its
 * error's JSON and the log lines show a canary.
 */
const refused = (name: string, text: string, atMint = false) =>
  Effect.gen(function*() {
    const { error, exit, lines } = yield* startUp(text)
    if (Exit.isSuccess(exit) && atMint) {
      const minted = yield* mintStatic(exit.value)
      const logs = [...lines, ...minted.lines].join("")
      return leaks(name, { "the mint's error": minted.errors.join("\n"), "the logs": logs })
    }
    expect(Exit.isFailure(exit), `${name}: the configuration was accepted`).toBe(true)
    expect(error, `${name}: not a ConfigError`).toBeInstanceOf(ConfigError)
    const message = error instanceof ConfigError ? error.message : ""
    return leaks(name, { "the error": message, "the error's JSON": JSON.stringify(error), "the logs": lines.join("") })
  })

/** Each kind with its secret field replaced by every wrong shape, and the entry broken elsewhere. */
const badEntries = (): ReadonlyArray<readonly [string, Json]> =>
  Object.entries(kinds(inline)).flatMap(([kind, valid]) => {
    // Beside the valid entries of every kind: an id of its own, or the duplicate id is all that is refused.
    const entry = { ...valid, id: `${String(valid["id"])}-broken` }
    const field = secretField[kind]!
    const canary = kind === "itempath" ? PASSWORD : kind === "static" ? ACCESS : SECRET
    const wrongSecret: ReadonlyArray<readonly [string, unknown]> = [
      ["an object of another shape", { value: canary }],
      ["both env and file", { env: canary, file: canary }],
      ["an array", [canary]],
      ["a number", 7_331],
      ["the secret where the variable's name goes", { env: canary }],
      ["the secret where the file's path goes", { file: canary }],
      ["an empty variable name", { env: "" }]
    ]
    const brokenElsewhere: ReadonlyArray<readonly [string, Json]> = [
      ["an unknown kind", { kind: "oauth3" }],
      ["no id", { id: undefined }],
      ["a bad timeout", { timeoutMillis: -1, pollMillis: -1 }],
      ["a bad URL", { tokenUrl: `ftp://${SECRET}@example.test`, baseUrl: `ftp://${PASSWORD}@example.test` }],
      ["a bad rate limit", { rateLimit: { tokens: 0, windowMillis: -5, burst: SECRET } }]
    ]
    return [
      ...wrongSecret.map(([shape, value]) => [`${kind}, ${field} as ${shape}`, { ...entry, [field]: value }] as const),
      ...brokenElsewhere.map(([what, fields]) => [`${kind} with ${what}`, { ...entry, ...fields }] as const)
    ]
  })

describe("no secret in what a bad configuration says", () => {
  it.effect("each kind's bad shapes, its secrets inline", () =>
    Effect.gen(function*() {
      const found: Array<string> = []
      for (const [name, entry] of badEntries()) {
        const text = config([...Object.values(kinds(inline)), entry])
        found.push(...(yield* refused(name, text, entry["kind"] === "static")))
      }
      expect(found).toEqual([])
    }))

  it.effect("secret references that cannot be read: unset variables, missing, empty and unreadable files", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, unknown]> = [
        ["an unset variable", { env: "CANARY_UNSET" }],
        ["a missing file", { file: join(dir, "missing") }],
        ["an empty file", { file: files.empty }],
        ["a directory", { file: files.directory }]
      ]
      const found: Array<string> = []
      for (const [kind, entry] of Object.entries(kinds(fromFiles))) {
        for (const [what, ref] of cases) {
          const broken = { ...entry, id: `${String(entry["id"])}-broken`, [secretField[kind]!]: ref }
          const text = config([...Object.values(kinds(inline)), broken])
          found.push(...(yield* refused(`${kind}: ${what}`, text, kind === "static")))
        }
      }
      expect(found).toEqual([])
    }))

  it.effect("files that are not a configuration, with the secrets in them", () =>
    Effect.gen(function*() {
      const valid = config(Object.values(kinds(inline)))
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["a secret unquoted", valid.replace(`"${SECRET}"`, SECRET)],
        ["a missing comma after a secret", valid.replace(`"${SECRET}",`, `"${SECRET}" `)],
        ["a file cut off after a secret", valid.slice(0, valid.indexOf(REFRESH) + REFRESH.length)],
        ["the secret alone", SECRET],
        ["an array of secrets", JSON.stringify([SECRET, PASSWORD])],
        ["no providers", JSON.stringify({ nats: { servers: [`nats://robot:${PASSWORD}@nats.test`] }, providers: [] })],
        ["no servers", JSON.stringify({ nats: { servers: [], auth: { user: "robot", password: PASSWORD } } })]
      ]
      const found: Array<string> = []
      for (const [name, text] of cases) found.push(...(yield* refused(name, text)))
      expect(found).toEqual([])
    }))

  it.effect("a bad nats.auth, its secrets inline", () =>
    Effect.gen(function*() {
      const providers = Object.values(kinds(fromEnv))
      const cases: ReadonlyArray<readonly [string, Json]> = [
        ["a password without its user", { auth: { password: PASSWORD } }],
        ["two methods", { auth: { user: "robot", password: PASSWORD, token: SECRET } }],
        ["a password of another shape", { auth: { user: "robot", password: { value: PASSWORD } } }],
        ["the password where the variable's name goes", { auth: { user: "robot", password: { env: PASSWORD } } }],
        ["a token where the file's path goes", { auth: { token: { file: SECRET } } }]
      ]
      const found: Array<string> = []
      for (const [name, nats] of cases) found.push(...(yield* refused(`nats.auth: ${name}`, config(providers, nats))))
      expect(found).toEqual([])
    }))
})

describe("no secret in what a good configuration says or shows", () => {
  const ways = [["inline", inline], ["from the environment", fromEnv], ["from files", fromFiles]] as const
  for (const [name, secrets] of ways) {
    it.effect(`secrets ${name}: the warnings, and the resolved configuration printed`, () =>
      Effect.gen(function*() {
        const { exit, lines } = yield* startUp(config(Object.values(kinds(secrets))))
        if (Exit.isFailure(exit)) return expect.fail(`the configuration was refused: ${String(exit.cause)}`)
        const resolved = exit.value
        expect(resolved.providers.map((provider) => provider.kind)).toEqual(Object.keys(kinds(secrets)))
        expect(leaks(name, {
          "the logs": lines.join(""),
          "the configuration as JSON": JSON.stringify(resolved),
          "the configuration inspected": inspect(resolved, { depth: null }),
          "the configuration as a string": String(resolved)
        })).toEqual([])
        // Inline secrets are warned about by field, one line each.
        const warned = lines.filter((line) => line.includes("is written in the config file")).length
        expect(warned).toBe(name === "inline" ? 4 : 0)
      }))
  }
})
