// The `nats` section's `auth` and `tls` in the configuration file: every
// credential shape decodes, its secret read from the environment, a file or
// (with a warning) the file itself, and held `Redacted`; TLS paths are kept
// as given. A wrong shape stops start-up with a message naming the field
// and never a secret. What a replica connects with carries both.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Logger, Redacted } from "effect"
import { natsConnectionOptions } from "../../src/config/NatsSettings.ts"
import { parseServiceConfig } from "../../src/config/ServiceConfig.ts"

const PASSWORD = "nats-password-9d41c0"
const TOKEN = "nats-token-57be2a"
const SEED = "SUAGIEYODKBBTUMOB666Z5KA4FCWAZV7HWSGRHOD7MK6UM5IMOVL3ZZW6Q"
const CREDS = `-----BEGIN NATS USER JWT-----\neyJhbGciOiJlZDI1NTE5In0.e30.c2ln\n------END NATS USER JWT------\n\n` +
  `-----BEGIN USER NKEY SEED-----\n${SEED}\n------END USER NKEY SEED------\n`
const SECRETS = [PASSWORD, TOKEN, SEED]

const dir = mkdtempSync(join(tmpdir(), "tokenbus-nats-settings-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, content: string) => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

const configText = (nats: Record<string, unknown>) =>
  JSON.stringify({
    nats: { servers: ["tls://nats.internal:4222"], ...nats },
    storage: { accessTokensInClear: true },
    providers: [{ id: "static", kind: "static", token: { env: "STATIC_TOKEN" } }]
  })

const env = { NATS_PASSWORD: PASSWORD, STATIC_TOKEN: "static-token-value" }

const parse = (nats: Record<string, unknown>) =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    const exit = yield* parseServiceConfig(configText(nats), "tokenbus.json").pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })),
      Effect.provide(Logger.layer([capture])),
      Effect.exit
    )
    return { exit, warnings }
  })

const expectNoSecret = (text: string) =>
  assert.strictEqual(SECRETS.filter((secret) => text.includes(secret)).length, 0, "a secret appears in the text")

/** The decoded config's credential, its secret, and the config shown every way it could be printed. */
const decodedAuth = (nats: Record<string, unknown>) =>
  Effect.gen(function*() {
    const { exit, warnings } = yield* parse(nats)
    if (Exit.isFailure(exit)) return assert.fail(`expected the config to decode, got ${String(exit.cause)}`)
    const auth = exit.value.nats.auth
    if (auth === undefined) return assert.fail("no nats.auth decoded")
    expectNoSecret(`${JSON.stringify(exit.value)} ${inspect(exit.value, { depth: null })}`)
    const secret = Object.values(auth).find(Redacted.isRedacted) as Redacted.Redacted<string> | undefined
    return { auth, secret: secret === undefined ? undefined : Redacted.value(secret), warnings, config: exit.value }
  })

const failure = (nats: Record<string, unknown>) =>
  Effect.gen(function*() {
    const { exit } = yield* parse(nats)
    if (Exit.isSuccess(exit)) return assert.fail("expected a ConfigError, but the config decoded")
    const message = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error.message ?? ""
    expectNoSecret(message)
    return message
  })

describe("nats.auth", () => {
  it.effect("user and password, the password from the environment", () =>
    Effect.gen(function*() {
      const nats = { auth: { user: "tokenbus", password: { env: "NATS_PASSWORD" } } }
      const { auth, secret, warnings } = yield* decodedAuth(nats)
      assert.strictEqual((auth as { readonly user: string }).user, "tokenbus")
      assert.isTrue(secret === PASSWORD, "the password is not the variable's")
      assert.deepStrictEqual(warnings, [])
    }))

  it.effect("a token from a file", () =>
    Effect.gen(function*() {
      const { auth, secret } = yield* decodedAuth({ auth: { token: { file: file("token", `${TOKEN}\n`) } } })
      assert.deepStrictEqual(Object.keys(auth), ["token"])
      assert.isTrue(secret === TOKEN, "the token is not the file's")
    }))

  it.effect("an NKey seed written in the file works, with a warning naming the field", () =>
    Effect.gen(function*() {
      const { auth, secret, warnings } = yield* decodedAuth({ auth: { nkeySeed: SEED } })
      assert.deepStrictEqual(Object.keys(auth), ["nkeySeed"])
      assert.isTrue(secret === SEED, "the seed is not the one written")
      assert.strictEqual(warnings.length, 1)
      assert.match(warnings[0] ?? "", /^nats\.auth\.nkeySeed is written in the config file/)
    }))

  it.effect("a .creds file's content, both blocks kept", () =>
    Effect.gen(function*() {
      const { auth, secret } = yield* decodedAuth({ auth: { creds: { file: file("tokenbus.creds", CREDS) } } })
      assert.deepStrictEqual(Object.keys(auth), ["creds"])
      assert.isTrue(secret === CREDS.trim(), "the creds are not the file's content")
    }))

  it.effect("and TLS, with what a replica connects with", () =>
    Effect.gen(function*() {
      const tls = { caFile: "/etc/nats/ca.pem", certFile: "/etc/nats/client.pem", keyFile: "/etc/nats/client.key" }
      const { config } = yield* decodedAuth({ auth: { token: { env: "NATS_PASSWORD" } }, tls })
      assert.deepStrictEqual(config.nats.tls, tls)
      const options = natsConnectionOptions(config.nats, "tokenbus-replica")
      assert.deepStrictEqual(options.servers, ["tls://nats.internal:4222"])
      assert.strictEqual(options.name, "tokenbus-replica")
      assert.deepStrictEqual(options.tls, tls)
      const held = options.auth !== undefined && "token" in options.auth ? Redacted.value(options.auth.token) : ""
      assert.isTrue(held === PASSWORD, "the connection's token is not the configured one")
    }))

  it.effect("neither auth nor tls: a connection without them, as before", () =>
    Effect.gen(function*() {
      const { exit } = yield* parse({})
      if (Exit.isFailure(exit)) return assert.fail(String(exit.cause))
      const options = natsConnectionOptions(exit.value.nats, "tokenbus-replica")
      assert.isFalse("auth" in options || "tls" in options)
    }))
})

describe("a wrong nats.auth or nats.tls stops start-up naming the field", () => {
  interface Case {
    readonly name: string
    readonly nats: Record<string, unknown>
    readonly says: RegExp
  }
  const cases: ReadonlyArray<Case> = [
    {
      name: "no method",
      nats: { auth: {} },
      says: /give one of \{ user, password \}, \{ token \}, \{ nkeySeed \} or \{ creds \}\s+at \["nats"\]\["auth"\]/
    },
    { name: "a misspelt method", nats: { auth: { pass: PASSWORD } }, says: /give one of .*\s+at \["nats"\]\["auth"\]/ },
    {
      name: "two methods",
      nats: { auth: { token: TOKEN, nkeySeed: SEED } },
      says: /give one method only, not token and nkeySeed\s+at \["nats"\]\["auth"\]/
    },
    {
      name: "a user without a password",
      nats: { auth: { user: "tokenbus" } },
      says: /user needs a password\s+at \["nats"\]\["auth"\]\["password"\]/
    },
    {
      name: "a password without a user",
      nats: { auth: { password: PASSWORD } },
      says: /password needs its user\s+at \["nats"\]\["auth"\]\["user"\]/
    },
    { name: "a token that is a number", nats: { auth: { token: 42 } }, says: /at \["nats"\]\["auth"\]\["token"\]/ },
    { name: "a credential that is a string", nats: { auth: TOKEN }, says: /Expected object\s+at \["nats"\]\["auth"\]/ },
    {
      name: "a certificate without its key",
      nats: { tls: { certFile: "/c.pem" } },
      says: /certFile and keyFile go together \(mutual TLS\): give both or neither\s+at \["nats"\]\["tls"\]/
    },
    {
      name: "a key without its certificate",
      nats: { tls: { keyFile: "/c.key" } },
      says: /certFile and keyFile go together.*\s+at \["nats"\]\["tls"\]/
    },
    { name: "a CA path that is not a string", nats: { tls: { caFile: 1 } }, says: /at \["nats"\]\["tls"\]\["caFile"\]/ }
  ]
  for (const { name, nats, says } of cases) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const message = yield* failure(nats)
        assert.match(message, /^invalid configuration in tokenbus\.json: /)
        assert.match(message, says)
      }))
  }

  it.effect("a variable that is not set names the field and the variable", () =>
    Effect.gen(function*() {
      const message = yield* failure({ auth: { user: "tokenbus", password: { env: "NATS_PASSWORD_UNSET" } } })
      assert.strictEqual(message, "nats.auth.password: environment variable NATS_PASSWORD_UNSET is not set")
    }))

  it.effect("a .creds file that cannot be read names the field and the file", () =>
    Effect.gen(function*() {
      const message = yield* failure({ auth: { creds: { file: join(dir, "missing.creds") } } })
      assert.include(message, `nats.auth.creds: cannot read secret file ${join(dir, "missing.creds")}`)
    }))
})
