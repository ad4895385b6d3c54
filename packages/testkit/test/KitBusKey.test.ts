// A kit told to `sealBus` gives its replicas a `bus` section and its clients
// the same key: the configuration the kit writes names the key by its file
// (never contains it), the service reads it as its bus ring, and the kit's
// `busKeys` (what `TokenbusClient.connect(kit)` passes on) is that key under
// that id, Redacted, so printing the kit shows no key. Without `sealBus`,
// there is no `bus` section and no `busKeys`.
import { describe, expect, it } from "@effect/vitest"
import { parseServiceConfig } from "@tokenbus/service"
import { Effect, Redacted } from "effect"
import { inspect } from "node:util"
import { makeKitFiles } from "../src/internal/KitFiles.ts"
import { serviceConfig } from "../src/internal/ServiceConfigFile.ts"
import { kitSettings } from "../src/StartTokenbusOptions.ts"
import { type KitParts, TokenbusKit } from "../src/TokenbusKit.ts"
import { configSettings } from "./support/ConfigSettings.ts"

/** A kit over these parts, as startTokenbus makes it once everything runs (nothing runs here). */
const kitOf = (files: Awaited<ReturnType<typeof makeKitFiles>>, sealed: boolean) =>
  new TokenbusKit({
    settings: kitSettings({ sealBus: sealed, log: false }),
    natsUrl: "nats://127.0.0.1:4222",
    container: { id: "c", image: "i", monitorUrl: "http://127.0.0.1:8222" },
    sim: { resourceUrl: "http://r", baseUrl: "http://b", tokenUrl: "http://t" },
    clientId: "client-1",
    verifyKey: files.verifyKey,
    busKey: sealed ? files.busKey : undefined
  } as unknown as KitParts)

describe("the kit's bus key", () => {
  it.effect("with sealBus, is the replicas' bus ring and the kit's busKeys, and shows nowhere", () =>
    Effect.gen(function*() {
      const files = yield* Effect.promise(() => makeKitFiles("secret-0123456789abcdef"))
      yield* Effect.addFinalizer(() => Effect.promise(files.remove))
      const text = JSON.stringify(serviceConfig(configSettings(files, { busKeyFile: files.busKeyFile })))
      expect(text).not.toContain(files.busKey)
      const config = yield* parseServiceConfig(text, "the kit's file")
      if (config.bus === undefined) return expect.fail("the kit's replicas must seal the bus")
      expect(Buffer.from(Redacted.value(config.bus.write.material)).toString("base64")).toBe(files.busKey)

      const kit = kitOf(files, true)
      const [given] = kit.busKeys ?? []
      expect(given?.id).toBe(config.bus.write.id)
      expect(given === undefined ? undefined : Redacted.value(given.key)).toBe(files.busKey)
      expect(inspect(kit, { depth: 5 })).not.toContain(files.busKey)
      expect(JSON.stringify(kit)).not.toContain(files.busKey)
    }).pipe(Effect.scoped))

  it.effect("without sealBus, is not given: no bus section, no busKeys", () =>
    Effect.gen(function*() {
      const files = yield* Effect.promise(() => makeKitFiles("secret-0123456789abcdef"))
      yield* Effect.addFinalizer(() => Effect.promise(files.remove))
      const text = JSON.stringify(serviceConfig(configSettings(files)))
      const config = yield* parseServiceConfig(text, "the kit's file")
      expect(config.bus).toBeUndefined()
      expect(kitOf(files, false).busKeys).toBeUndefined()
    }).pipe(Effect.scoped))
})
