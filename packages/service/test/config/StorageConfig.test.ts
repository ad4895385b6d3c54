// The `storage` section, through the service's own parser: a key ring is
// read into Redacted keys (its write key among them); every refusal says
// what is wrong and what to add, and never shows a key: no section at all,
// neither keys nor the opt-in, both, a write key missing or unknown, a key
// id twice, a key that is not the base64 of 32 bytes, and a provider that
// keeps a refresh token with access tokens in clear.
import { randomBytes } from "node:crypto"
import { inspect } from "node:util"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Redacted } from "effect"
import { ConfigError } from "../../src/config/ConfigError.ts"
import { parseServiceConfig } from "../../src/config/ServiceConfig.ts"

const KEY_1 = randomBytes(32).toString("base64")
const KEY_2 = randomBytes(32).toString("base64")
const SHORT_KEY = randomBytes(16).toString("base64")
const env = { KEY_1, KEY_2, SHORT_KEY, P44_SECRET: "p44-secret-31c9", CRM_SECRET: "crm-secret-a07e" }
const KEYS = [KEY_1, KEY_2, SHORT_KEY]

type Json = Record<string, unknown>

const project44: Json = {
  id: "project44",
  kind: "oauth2-client-credentials",
  tokenUrl: "https://na12.api.project44.com/api/v4/oauth2/token",
  clientId: "acme",
  clientSecret: { env: "P44_SECRET" },
  clientAuth: "basic"
}
const crm: Json = {
  id: "crm",
  kind: "oauth2-refresh-token",
  tokenUrl: "https://auth.example.com/oauth2/token",
  clientId: "tokenbus",
  refreshToken: { env: "CRM_SECRET" }
}
const itempath = (applicationToken: boolean): Json => ({
  id: "itempath",
  kind: "itempath",
  baseUrl: "https://acme.itempath.com",
  username: "tokenbus",
  password: { env: "CRM_SECRET" },
  applicationToken
})

const ring = { keys: [{ id: "2026-01", key: { env: "KEY_1" } }, { id: "2026-07", key: { env: "KEY_2" } }] }

const configText = (storage: Json | undefined, providers: ReadonlyArray<Json> = [project44]) =>
  JSON.stringify({ nats: { servers: ["nats://127.0.0.1:4222"] }, providers, ...(storage && { storage }) })

const parse = (text: string) =>
  parseServiceConfig(text, "tokenbus.json").pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })),
    Effect.exit
  )

/** The ConfigError's message; no key appears in it. */
const refusal = (storage: Json | undefined, providers?: ReadonlyArray<Json>) =>
  Effect.gen(function*() {
    const exit = yield* parse(configText(storage, providers))
    if (Exit.isSuccess(exit)) return expect.fail("expected a ConfigError, but the config decoded")
    const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as ConfigError).message
    for (const key of KEYS) expect(message).not.toContain(key)
    return message
  })

const accepted = (storage: Json, providers?: ReadonlyArray<Json>) =>
  Effect.gen(function*() {
    const exit = yield* parse(configText(storage, providers))
    if (Exit.isFailure(exit)) return expect.fail(`expected the config to decode: ${String(exit.cause)}`)
    return exit.value
  })

const example = `"storage": { "keys": [{ "id": "k1", "key": { "file": "/run/secrets/tokenbus-storage-key" } }], ` +
  `"writeKey": "k1" }, a key being the base64 of 32 random bytes (openssl rand -base64 32)`

describe("storage: a key ring", () => {
  it.effect("reads every key, Redacted, and seals with the write key", () =>
    Effect.gen(function*() {
      const config = yield* accepted({ ...ring, writeKey: "2026-07" }, [project44, crm])
      if (config.storage.sealing !== "sealed") return expect.fail("expected a key ring")
      const { keys, write } = config.storage.ring
      expect(write.id).toBe("2026-07")
      expect(keys.map((key) => key.id)).toEqual(["2026-01", "2026-07"])
      expect(Buffer.from(Redacted.value(keys[0]!.material)).toString("base64")).toBe(KEY_1)
      expect(Buffer.from(Redacted.value(write.material)).toString("base64")).toBe(KEY_2)
      for (const key of KEYS) {
        expect(JSON.stringify(config)).not.toContain(key)
        expect(inspect(config, { depth: null })).not.toContain(key)
      }
    }))

  it.effect("reads a secret in clear only with readClear, the flag of turning sealing on", () =>
    Effect.gen(function*() {
      const strict = yield* accepted({ ...ring, writeKey: "2026-07" }, [project44])
      const turningOn = yield* accepted({ ...ring, writeKey: "2026-07", readClear: true }, [project44])
      if (strict.storage.sealing !== "sealed" || turningOn.storage.sealing !== "sealed") {
        return expect.fail("expected a key ring")
      }
      expect(strict.storage.readClear).toBe(false)
      expect(turningOn.storage.readClear).toBe(true)
    }))

  it.effect("a write key missing, or not in the ring, is refused with the ids there are", () =>
    Effect.gen(function*() {
      expect(yield* refusal(ring)).toBe(
        "storage.writeKey is missing: name the key of storage.keys that seals new writes (2026-01, 2026-07), or " +
          "set storage.accessTokensInClear to keep writing access tokens in clear"
      )
      expect(yield* refusal({ ...ring, writeKey: "2027-01" })).toBe(
        "storage.writeKey is 2027-01, which is not in storage.keys (2026-01, 2026-07)"
      )
      expect(yield* refusal({ writeKey: "2027-01" })).toBe("storage.writeKey is 2027-01, but storage.keys is missing")
    }))

  it.effect("an empty ring, or a key id twice, is refused", () =>
    Effect.gen(function*() {
      expect(yield* refusal({ keys: [], writeKey: "k1" })).toBe(
        `storage.keys is empty: add a key, "storage": { "keys": [{ "id": "k1", "key": { "file": ` +
          `"/run/secrets/tokenbus-storage-key" } }], "writeKey": "k1" }`
      )
      const twice = { keys: [ring.keys[0], { id: "2026-01", key: { env: "KEY_2" } }], writeKey: "2026-01" }
      expect(yield* refusal(twice)).toBe("storage.keys: key id 2026-01 appears twice; ids must be unique")
    }))

  it.effect("a key that is not the base64 of 32 bytes is refused, naming the field, never the key", () =>
    Effect.gen(function*() {
      const short = { keys: [{ id: "k1", key: { env: "SHORT_KEY" } }], writeKey: "k1" }
      expect(yield* refusal(short)).toBe(
        "storage.keys[0].key: key k1 is 16 bytes; it must be the base64 of 32 random bytes"
      )
      const passphrase = { keys: [{ id: "k1", key: "correct horse battery staple" }], writeKey: "k1" }
      expect(yield* refusal(passphrase)).toBe(
        "storage.keys[0].key: key k1 is not base64; it must be the base64 of 32 random bytes"
      )
      const unset = { keys: [{ id: "k1", key: { env: "NO_SUCH_KEY" } }], writeKey: "k1" }
      expect(yield* refusal(unset)).toBe("storage.keys[0].key: environment variable NO_SUCH_KEY is not set")
    }))

  it.effect("a key id that could not sit in an envelope is refused by the decoder", () =>
    Effect.gen(function*() {
      const dotted = { keys: [{ id: "2026.01", key: { env: "KEY_1" } }], writeKey: "2026.01" }
      expect(yield* refusal(dotted)).toContain("a key id is 1-64 characters of A-Z, a-z, 0-9, '_' and '-'")
    }))

  it.effect("a write key and accessTokensInClear together are refused", () =>
    Effect.gen(function*() {
      expect(yield* refusal({ ...ring, writeKey: "2026-01", accessTokensInClear: true })).toBe(
        "storage: writeKey and accessTokensInClear exclude each other; with a write key, every token is sealed " +
          "(remove one)"
      )
    }))
})

describe("storage: neither a key nor the opt-in", () => {
  const message = `storage: no key to seal tokens in KV with. Add ${example}; or, to keep access tokens in KV in ` +
    `clear, readable by anyone who can read the tokens bucket, "storage": { "accessTokensInClear": true }`

  it.effect("no storage section, an empty one, or the opt-in set to false, is refused saying what to add", () =>
    Effect.gen(function*() {
      expect(yield* refusal(undefined)).toBe(message)
      expect(yield* refusal({})).toBe(message)
      expect(yield* refusal({ accessTokensInClear: false })).toBe(message)
    }))
})

describe("storage: access tokens in clear", () => {
  it.effect("is taken for providers that keep no carry: client credentials, ItemPath application tokens", () =>
    Effect.gen(function*() {
      const config = yield* accepted({ accessTokensInClear: true }, [project44, itempath(true)])
      expect(config.storage).toEqual({ sealing: "clear", keys: [] })
    }))

  it.effect("is refused for a provider that keeps a refresh token, naming it and what to add", () =>
    Effect.gen(function*() {
      expect(yield* refusal({ accessTokensInClear: true }, [project44, crm])).toBe(
        "providers[1] (crm, kind oauth2-refresh-token) keeps a refresh token in KV between mints, which " +
          `tokenbus stores only sealed (storage.accessTokensInClear covers access tokens only). Add ${example}`
      )
      expect(yield* refusal({ accessTokensInClear: true }, [itempath(false)])).toContain(
        "providers[0] (itempath, kind itempath) keeps a refresh token in KV between mints"
      )
    }))

  it.effect("with keys and no write key, opens what they sealed and writes in clear (turning sealing on or off)", () =>
    Effect.gen(function*() {
      const config = yield* accepted({ ...ring, accessTokensInClear: true })
      if (config.storage.sealing !== "clear") return expect.fail("expected access tokens in clear")
      expect(config.storage.keys.map((key) => key.id)).toEqual(["2026-01", "2026-07"])
      expect(yield* refusal({ ...ring, accessTokensInClear: true }, [crm])).toContain("providers[0] (crm")
    }))
})
