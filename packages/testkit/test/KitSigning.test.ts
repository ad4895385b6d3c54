// The kit's replicas sign their tokens and the kit hands its clients the
// public half, so `TokenbusClient.connect(kit)` verifies as a deployment's
// clients should: the configuration the kit writes must name the private key
// by its file (never contain it), the service must read it as its signing
// key, and `kit.verifyKey` must be that key's public half.
import { createPrivateKey, createPublicKey } from "node:crypto"
import { stat } from "node:fs/promises"
import { describe, expect, it } from "@effect/vitest"
import { parseServiceConfig } from "@tokenbus/service"
import { Effect, Redacted } from "effect"
import { makeKitFiles } from "../src/internal/KitFiles.ts"
import { serviceConfig } from "../src/internal/ServiceConfigFile.ts"
import { configSettings } from "./support/ConfigSettings.ts"

describe("the kit's signing key", () => {
  it.effect("is read by the service from a file only its owner can read, and verifyKey is its public half", () =>
    Effect.gen(function*() {
      const files = yield* Effect.promise(() => makeKitFiles("secret-0123456789abcdef"))
      yield* Effect.addFinalizer(() => Effect.promise(files.remove))
      expect((yield* Effect.promise(() => stat(files.signingKeyFile))).mode & 0o777).toBe(0o600)
      const text = JSON.stringify(serviceConfig(configSettings(files)))
      expect(text).not.toContain("PRIVATE KEY")
      const config = yield* parseServiceConfig(text, "the kit's file")
      if (config.signing === undefined) return expect.fail("the kit's replicas must sign their tokens")
      const privateKey = createPrivateKey(Redacted.value(config.signing.privateKey))
      expect(privateKey.asymmetricKeyType).toBe("ed25519")
      expect(createPublicKey(privateKey).export({ type: "spki", format: "pem" })).toBe(files.verifyKey)
    }).pipe(Effect.scoped))
})
