// The `bus` section, through the service's own parser: absent, tokens go on
// the bus in clear; a ring is read into Redacted keys, its write key the
// named one or the only one; every refusal says what is wrong and never
// shows a key: no keys, several keys and no write key, a write key not among
// them, a key id twice, a key that is not the base64 of 32 bytes, and a bus
// key that is also a storage key (consumers are given the bus key).
import { randomBytes } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Redacted } from "effect"
import { ConfigError } from "../../src/config/ConfigError.ts"
import { parseServiceConfig } from "../../src/config/ServiceConfig.ts"

const BUS_1 = randomBytes(32).toString("base64")
const BUS_2 = randomBytes(32).toString("base64")
const STORAGE = randomBytes(32).toString("base64")
const SHORT = randomBytes(16).toString("base64")
const env = { BUS_1, BUS_2, STORAGE, SHORT, P44_SECRET: "p44-secret-31c9" }
const KEYS = [BUS_1, BUS_2, STORAGE, SHORT]

type Json = Record<string, unknown>

const configText = (bus: Json | undefined) =>
  JSON.stringify({
    nats: { servers: ["nats://127.0.0.1:4222"] },
    storage: { keys: [{ id: "store-1", key: { env: "STORAGE" } }], writeKey: "store-1" },
    ...(bus === undefined ? {} : { bus }),
    providers: [{
      id: "project44",
      kind: "oauth2-client-credentials",
      tokenUrl: "https://na12.api.project44.com/api/v4/oauth2/token",
      clientId: "acme",
      clientSecret: { env: "P44_SECRET" },
      clientAuth: "basic"
    }]
  })

const parse = (bus: Json | undefined) =>
  parseServiceConfig(configText(bus), "tokenbus.json").pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })),
    Effect.exit
  )

const accepted = (bus: Json | undefined) =>
  Effect.gen(function*() {
    const exit = yield* parse(bus)
    if (Exit.isFailure(exit)) return expect.fail(`expected the config to decode: ${String(exit.cause)}`)
    return exit.value
  })

/** The ConfigError's message; no key appears in it. */
const refusal = (bus: Json) =>
  Effect.gen(function*() {
    const exit = yield* parse(bus)
    if (Exit.isSuccess(exit)) return expect.fail("expected a ConfigError, but the config decoded")
    const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as ConfigError).message
    for (const key of KEYS) expect(message).not.toContain(key)
    return message
  })

const key = (id: string, variable: string) => ({ id, key: { env: variable } })
const material = (sealing: { readonly material: Redacted.Redacted<Uint8Array> }) =>
  Buffer.from(Redacted.value(sealing.material)).toString("base64")

describe("bus", () => {
  it.effect("absent: no ring, tokens go in clear", () =>
    Effect.gen(function*() {
      expect((yield* accepted(undefined)).bus).toBeUndefined()
    }))

  it.effect("one key: it seals, without a writeKey", () =>
    Effect.gen(function*() {
      const { bus } = yield* accepted({ keys: [key("bus-1", "BUS_1")] })
      expect(bus?.write.id).toBe("bus-1")
      expect(material(bus!.write)).toBe(BUS_1)
      for (const secret of KEYS) expect(JSON.stringify(bus)).not.toContain(secret)
    }))

  it.effect("a ring for a rotation: every key opens, the write key seals", () =>
    Effect.gen(function*() {
      const { bus } = yield* accepted({ keys: [key("bus-1", "BUS_1"), key("bus-2", "BUS_2")], writeKey: "bus-2" })
      expect(bus?.keys.map((each) => each.id)).toEqual(["bus-1", "bus-2"])
      expect(material(bus!.write)).toBe(BUS_2)
    }))

  it.effect("refuses what cannot be a ring, saying why", () =>
    Effect.gen(function*() {
      expect(yield* refusal({ keys: [] })).toContain("bus.keys is empty")
      expect(yield* refusal({ keys: [key("bus-1", "BUS_1"), key("bus-2", "BUS_2")] })).toContain(
        "bus.writeKey is missing: name the key of bus.keys that seals (bus-1, bus-2)"
      )
      expect(yield* refusal({ keys: [key("bus-1", "BUS_1")], writeKey: "bus-9" })).toContain(
        "bus.writeKey is bus-9, which is not in bus.keys (bus-1)"
      )
      expect(yield* refusal({ keys: [key("bus-1", "BUS_1"), key("bus-1", "BUS_2")], writeKey: "bus-1" })).toContain(
        "key id bus-1 appears twice"
      )
      expect(yield* refusal({ keys: [key("bus-1", "SHORT")] })).toContain("bus.keys[0].key: key bus-1 is 16 bytes")
    }))

  it.effect("refuses a bus key that is also a storage key", () =>
    Effect.gen(function*() {
      const message = yield* refusal({ keys: [key("bus-1", "BUS_1"), key("bus-2", "STORAGE")], writeKey: "bus-1" })
      expect(message).toContain("bus.keys[1].key is storage key store-1")
    }))
})
