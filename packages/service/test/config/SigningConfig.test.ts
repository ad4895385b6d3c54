// The `signing` section: the cluster's private key, a secret reference like
// the others, read into a `Redacted` value and checked when the file is
// read, so a wrong key stops start-up naming the field and never quoting
// the key. Without the section, the configuration has no key (the replica
// then warns that its tokens are unsigned).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { generateKeyPairSync } from "node:crypto"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { generateSigningKeyPair } from "@tokenbus/core"
import { ConfigProvider, Effect, Exit, Redacted } from "effect"
import { parseServiceConfig } from "../../src/config/ServiceConfig.ts"

const pair = generateSigningKeyPair()
const privatePem = Redacted.value(pair.privateKeyPem)
const keyBody = privatePem.split("\n")[1]!

const dir = mkdtempSync(join(tmpdir(), "tokenbus-signing-config-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, content: string) => {
  const path = join(dir, name)
  writeFileSync(path, content, { mode: 0o600 })
  return path
}

const configWith = (signing: unknown) =>
  JSON.stringify({
    nats: { servers: ["nats://127.0.0.1:4222"] },
    storage: { accessTokensInClear: true },
    ...(signing === undefined ? {} : { signing }),
    providers: [{ id: "static", kind: "static", token: { env: "STATIC_TOKEN" } }]
  })

const parse = (signing: unknown, env: Record<string, string> = {}) =>
  parseServiceConfig(configWith(signing), "tokenbus.json").pipe(
    Effect.provideService(
      ConfigProvider.ConfigProvider,
      ConfigProvider.fromEnv({ env: { STATIC_TOKEN: "static-token-value", ...env } })
    ),
    Effect.exit
  )

const failureOf = (exit: Exit.Exit<unknown, { readonly message: string }>): string =>
  Exit.isFailure(exit) ? JSON.stringify(exit.cause) : "it was accepted"

describe("signing", () => {
  it.effect("reads the private key from a file or the environment, Redacted", () =>
    Effect.gen(function*() {
      for (const [signing, env] of [
        [{ privateKey: { file: file("signing.pem", privatePem) } }, {}],
        [{ privateKey: { env: "TOKENBUS_SIGNING_KEY" } }, { TOKENBUS_SIGNING_KEY: privatePem }]
      ] as const) {
        const exit = yield* parse(signing, env)
        if (Exit.isFailure(exit)) return assert.fail(failureOf(exit))
        const key = exit.value.signing?.privateKey
        assert.isTrue(key !== undefined && Redacted.isRedacted(key))
        assert.strictEqual(Redacted.value(key!).trim(), privatePem.trim())
        assert.notInclude(String(exit.value.signing?.privateKey), keyBody)
      }
    }))

  it.effect("is absent when the file has no section", () =>
    Effect.gen(function*() {
      const exit = yield* parse(undefined)
      if (Exit.isFailure(exit)) return assert.fail(failureOf(exit))
      assert.isUndefined(exit.value.signing)
    }))

  it.effect("refuses a public key, another kind of key or garbage, naming the field and never the key", () =>
    Effect.gen(function*() {
      const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      const rsaPem = String(rsa.privateKey.export({ type: "pkcs8", format: "pem" }))
      for (const content of [pair.publicKeyPem, rsaPem, "not a key"]) {
        const message = failureOf(yield* parse({ privateKey: { file: file("wrong.pem", content) } }))
        assert.include(message, "signing.privateKey")
        assert.notInclude(message, content.split("\n")[1] ?? content)
      }
      const missing = failureOf(yield* parse({ privateKey: { env: "TOKENBUS_SIGNING_KEY" } }))
      assert.include(missing, "signing.privateKey: environment variable TOKENBUS_SIGNING_KEY is not set")
    }))
})
