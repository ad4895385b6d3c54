// What the kit writes for its replicas must be a configuration the service
// accepts, decoded by the service's own parser: the kit's policy reaches the
// provider, and the client secret and the storage key are read from their
// files (readable by this user only) and appear nowhere in the configuration
// itself.
import { existsSync } from "node:fs"
import { readFile, stat } from "node:fs/promises"
import { describe, expect, it } from "@effect/vitest"
import { parseServiceConfig } from "@tokenbus/service"
import { Effect, Redacted } from "effect"
import { makeKitFiles } from "../src/internal/KitFiles.ts"
import { serviceConfig } from "../src/internal/ServiceConfigFile.ts"
import { configSettings } from "./support/ConfigSettings.ts"

const SECRET = "secret-0123456789abcdef"

describe("the kit's service configuration", () => {
  it.effect("is accepted by the service, with the kit's policy and the secret read from its file", () =>
    Effect.gen(function*() {
      const files = yield* Effect.promise(() => makeKitFiles(SECRET))
      yield* Effect.addFinalizer(() => Effect.promise(files.remove))
      const rateLimit = { tokens: 1, windowMillis: 60_000 }
      const text = JSON.stringify(serviceConfig(configSettings(files, { policy: { rateLimit } })))
      expect(text).not.toContain(SECRET)
      const storageKey = yield* Effect.promise(() => readFile(files.storageKeyFile, "utf8"))
      expect(text).not.toContain(storageKey)

      const config = yield* parseServiceConfig(text, "the kit's file")
      expect(config.prefix).toBe("t0badcafe")
      expect(config.nats.servers).toEqual(["nats://127.0.0.1:4222"])
      const [provider] = config.providers
      expect(provider?.rateLimit).toEqual(rateLimit)
      expect(provider?.circuitBreaker).toEqual({ freshTokenMillis: 5_000 })
      const resolved = provider?.resolved as { readonly clientSecret: Redacted.Redacted<string> }
      expect(Redacted.value(resolved.clientSecret)).toBe(SECRET)
      // The tokens bucket is sealed with the key from its file.
      if (config.storage.sealing !== "sealed") return expect.fail("the kit's replicas must seal the tokens bucket")
      expect(Buffer.from(Redacted.value(config.storage.ring.write.material)).toString("base64")).toBe(storageKey)
    }).pipe(Effect.scoped))

  it("keeps the secret in a file only its owner can read, removed with the dir", async () => {
    const files = await makeKitFiles(SECRET)
    expect(await readFile(files.secretFile, "utf8")).toBe(SECRET)
    expect((await stat(files.secretFile)).mode & 0o777).toBe(0o600)
    expect(Buffer.from(await readFile(files.storageKeyFile, "utf8"), "base64")).toHaveLength(32)
    expect((await stat(files.storageKeyFile)).mode & 0o777).toBe(0o600)
    await files.remove()
    expect(existsSync(files.dir)).toBe(false)
  })
})
