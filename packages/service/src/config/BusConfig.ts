/**
 * The `bus` section (optional): seals the access token of every token a
 * replica sends, in replies and updates, for the holders of a bus key
 * (PROTOCOL.md, "Sealed tokens"), so a subscriber on the account without it
 * learns the provider, version and expiry, never the token. Keys are written
 * and read as in `storage` (KeyRing.ts: an id and the base64 of 32 random
 * bytes, a secret reference) and make a ring: `writeKey` seals, any key
 * opens, so a key rotates without downtime. With one key, `writeKey` may be
 * left out.
 *
 *   "bus": { "keys": [{ "id": "b1", "key": { "file": "/run/secrets/tokenbus-bus-key" } }] }
 *
 * A bus key must be the bus's alone: consumers are given it, so one that is
 * also a storage key, which opens what KV holds (refresh tokens included),
 * stops start-up.
 */
import { type SealingKey, SealingKeyId } from "@tokenbus/core"
import { Effect, Redacted, Schema } from "effect"
import { ConfigError } from "./ConfigError.ts"
import { type KeyCheck, KeyEntry, resolveKeyRing } from "./KeyRing.ts"
import type { Storage } from "./StorageConfig.ts"

export const BusConfig = Schema.Struct({
  keys: Schema.Array(KeyEntry),
  writeKey: Schema.optionalKey(SealingKeyId)
})
export type BusConfig = typeof BusConfig.Type

const fail = (message: string) => Effect.fail(new ConfigError({ message }))

/** The id of the key that seals: `writeKey`, or the one key there is (KeyRing.ts checks it is a key's). */
const writeKeyOf = (section: BusConfig): Effect.Effect<string, ConfigError> => {
  const ids = section.keys.map((entry) => entry.id)
  const [only, ...others] = ids
  if (only === undefined) return fail("bus.keys is empty: add a key, or remove the bus section to send tokens in clear")
  if (section.writeKey !== undefined) return Effect.succeed(section.writeKey)
  return others.length === 0
    ? Effect.succeed(only)
    : fail(`bus.writeKey is missing: name the key of bus.keys that seals (${ids.join(", ")})`)
}

const sameMaterial = (a: SealingKey, b: SealingKey): boolean =>
  Buffer.from(Redacted.value(a.material)).equals(Redacted.value(b.material))

const storageKeysOf = (storage: Storage): ReadonlyArray<SealingKey> =>
  storage.sealing === "sealed" ? storage.ring.keys : storage.keys

/** A bus key must not be a storage key: consumers are given the bus key, and a storage key opens what KV holds. */
const notStorageKey = (storage: Storage): KeyCheck => (key, field) => {
  const shared = storageKeysOf(storage).find((stored) => sameMaterial(stored, key))
  return shared === undefined ? Effect.void : fail(
    `${field} is storage key ${shared.id}: consumers are given the bus key, and the storage key opens ` +
      "what KV holds; give the bus a key of its own"
  )
}

/**
 * Reads the section's keys into a ring, refusing a key `storage` also holds;
 * absent: tokens go on the bus in clear.
 */
export const resolveBus = Effect.fnUntraced(function*(section: BusConfig | undefined, storage: Storage) {
  if (section === undefined) return undefined
  const writeId = yield* writeKeyOf(section)
  return yield* resolveKeyRing("bus", section.keys, writeId, notStorageKey(storage))
})
