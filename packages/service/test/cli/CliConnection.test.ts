// How `tokenbus get` and `reset` reach NATS: the replicas' own
// configuration file (`--config`, or `TOKENBUS_CONFIG`) gives the servers,
// credential, TLS and prefix, without needing the providers' secrets; flags
// override it, `--creds` reads a `.creds` file; without either, the local
// defaults. Secrets are `Redacted` from the start, and errors name the file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { afterAll, assert, describe, it } from "@effect/vitest"
import type { NatsAuth } from "@tokenbus/nats"
import { ConfigProvider, Effect, Option, Redacted } from "effect"
import { cliConnection, type ConnectionFlags } from "../../src/cli/CliConnection.ts"

const PASSWORD = "cli-nats-password-61f0"
const CREDS = "-----BEGIN NATS USER JWT-----\neyJ0.e30.c2ln\n------END NATS USER JWT------\n"

const dir = mkdtempSync(join(tmpdir(), "tokenbus-cli-connection-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, content: string) => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

const configFile = file("tokenbus.json", JSON.stringify({
  nats: {
    servers: ["tls://nats-1:4222", "tls://nats-2:4222"],
    name: "tokenbus-replica-1",
    auth: { user: "operator", password: { env: "NATS_PASSWORD" } },
    tls: { caFile: "/etc/nats/ca.pem" }
  },
  prefix: "tb_prod",
  // Its secret is not in the CLI's environment: the CLI must not read it.
  providers: [{ id: "static", kind: "static", token: { env: "PROVIDER_SECRET_NOT_SET" } }]
}))
const credsFile = file("operator.creds", CREDS)

const flags = (given: Partial<Record<keyof ConnectionFlags, string>>): ConnectionFlags => ({
  config: Option.fromUndefinedOr(given.config),
  servers: Option.fromUndefinedOr(given.servers),
  prefix: Option.fromUndefinedOr(given.prefix),
  creds: Option.fromUndefinedOr(given.creds)
})

const connection = (given: Partial<Record<keyof ConnectionFlags, string>>, env: Record<string, string> = {}) =>
  cliConnection(flags(given)).pipe(
    Effect.provideService(
      ConfigProvider.ConfigProvider,
      ConfigProvider.fromEnv({ env: { NATS_PASSWORD: PASSWORD, ...env } })
    )
  )

/** The secret `auth` holds and which method it is. */
const secretOf = (auth: NatsAuth | undefined) => {
  if (auth === undefined) return undefined
  if ("password" in auth) return { method: "password", value: Redacted.value(auth.password) }
  if ("creds" in auth) return { method: "creds", value: Redacted.value(auth.creds) }
  return { method: "other", value: "" }
}

describe("cliConnection", () => {
  it.effect("takes servers, credential, TLS and prefix from the configuration file, under the CLI's name", () =>
    Effect.gen(function*() {
      const { nats, prefix } = yield* connection({ config: configFile })
      assert.deepStrictEqual(nats.servers, ["tls://nats-1:4222", "tls://nats-2:4222"])
      assert.strictEqual(nats.name, "tokenbus-cli")
      assert.deepStrictEqual(nats.tls, { caFile: "/etc/nats/ca.pem" })
      assert.strictEqual(prefix, "tb_prod")
      const secret = secretOf(nats.auth)
      assert.strictEqual(secret?.method, "password")
      assert.isTrue(secret?.value === PASSWORD, "the password is not the variable's")
      assert.isFalse(inspect(nats, { depth: null }).includes(PASSWORD), "the options print the password")
    }))

  it.effect("finds the file through TOKENBUS_CONFIG, as serve does", () =>
    Effect.gen(function*() {
      const { prefix } = yield* connection({}, { TOKENBUS_CONFIG: configFile })
      assert.strictEqual(prefix, "tb_prod")
    }))

  it.effect("lets --servers, --prefix and --creds override the file", () =>
    Effect.gen(function*() {
      const given = { config: configFile, servers: "nats://a:4222, nats://b:4222", prefix: "other", creds: credsFile }
      const { nats, prefix } = yield* connection(given)
      assert.deepStrictEqual(nats.servers, ["nats://a:4222", "nats://b:4222"])
      assert.strictEqual(prefix, "other")
      assert.deepStrictEqual(nats.tls, { caFile: "/etc/nats/ca.pem" })
      const secret = secretOf(nats.auth)
      assert.strictEqual(secret?.method, "creds")
      assert.isTrue(secret?.value === CREDS.trim(), "the creds are not the file's")
    }))

  it.effect("without a file: the local NATS, the default prefix, no credential", () =>
    Effect.gen(function*() {
      const { nats, prefix } = yield* connection({})
      assert.deepStrictEqual(nats, { servers: ["nats://127.0.0.1:4222"], name: "tokenbus-cli" })
      assert.strictEqual(prefix, "tokenbus")
    }))

  it.effect("names the file that cannot be read, the field that is wrong, the .creds file that is missing", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(connection({ config: join(dir, "missing.json") }))
      assert.match(missing.message, /^--config .*missing\.json cannot be read/)
      const viaVariable = yield* Effect.flip(connection({}, { TOKENBUS_CONFIG: join(dir, "missing.json") }))
      assert.match(viaVariable.message, /^TOKENBUS_CONFIG .*missing\.json cannot be read/)
      const bad = file("bad.json", JSON.stringify({ nats: { servers: ["nats://x:4222"], auth: { user: "u" } } }))
      const invalid = yield* Effect.flip(connection({ config: bad }))
      assert.match(invalid.message, /invalid configuration in .*bad\.json: user needs a password\s+at \["nats"\]/)
      const noCreds = yield* Effect.flip(connection({ creds: join(dir, "missing.creds") }))
      assert.match(noCreds.message, /^--creds: cannot read secret file .*missing\.creds/)
    }))
})
