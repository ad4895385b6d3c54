// The breaker trusts the fingerprint to notice a rotated secret, and to notice nothing else.
import { afterAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Redacted } from "effect"
import { fingerprint } from "../../src/config/fingerprint.ts"
import { parseServiceConfig } from "../../src/config/ServiceConfig.ts"

const provider = (secret: string) => ({ id: "p44", clientId: "a", clientSecret: Redacted.make(secret) })

const dir = mkdtempSync(join(tmpdir(), "tokenbus-fingerprint-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const configWithSecretFile = (path: string, clientId = "acme") =>
  JSON.stringify({
    nats: { servers: ["nats://127.0.0.1:4222"] },
    storage: { accessTokensInClear: true },
    providers: [{
      id: "p44",
      kind: "oauth2-client-credentials",
      tokenUrl: "https://na12.api.project44.com/api/v4/oauth2/token",
      clientId,
      clientSecret: { file: path },
      clientAuth: "basic"
    }]
  })

describe("fingerprint", () => {
  it("changes when a secret's value changes, though a Redacted prints the same", () => {
    expect(String(provider("one").clientSecret)).toBe(String(provider("two").clientSecret))
    expect(fingerprint(provider("one"))).not.toBe(fingerprint(provider("two")))
  })

  it("is stable for the same configuration", () => {
    expect(fingerprint(provider("one"))).toBe(fingerprint(provider("one")))
  })

  it.effect("of a configured provider: follows its secret file through reload, and its other fields", () =>
    Effect.gen(function*() {
      const path = join(dir, "secret")
      writeFileSync(path, "first-secret")
      const [configured] = (yield* parseServiceConfig(configWithSecretFile(path), "test")).providers
      if (configured === undefined) return expect.fail("no provider")
      expect((yield* configured.reload()).fingerprint).toBe(configured.fingerprint)
      writeFileSync(path, "rotated-secret")
      expect((yield* configured.reload()).fingerprint).not.toBe(configured.fingerprint)
      writeFileSync(path, "first-secret")
      const [otherClient] = (yield* parseServiceConfig(configWithSecretFile(path, "other"), "test")).providers
      expect(otherClient?.fingerprint).not.toBe(configured.fingerprint)
    }))
})
