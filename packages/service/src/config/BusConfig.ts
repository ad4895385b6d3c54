/**
 * The `bus` section (optional): seals the access token of every token a
 * replica sends, in replies and updates, for the holders of a bus key
 * (PROTOCOL.md, "Sealed tokens"), so a subscriber on the account without it
 * learns the provider, version and expiry, never the token. Keys are written
 * as in `storage` (StorageConfig.ts: an id and the base64 of 32 random bytes,
 * a secret reference) and make a ring: `writeKey` seals, any key opens, so a
 * key rotates without downtime. With one key, `writeKey` may be left out.
 *
 *   "bus": { "keys": [{ "id": "b1", "key": { "file": "/run/secrets/tokenbus-bus-key" } }] }
 *
 * A bus key must be the bus's alone: consumers are given it, so one that is
 * also a storage key, which opens what KV holds (refresh tokens included),
 * stops start-up.
 */
import { type KeyRing, type SealingKey, SealingKeyId, sealingKeyFromBase64 } from "@tokenbus/core"
import { Effect, Redacted, Result, Schema } from "effect"
import { ConfigError } from "./ConfigError.ts"
import { resolveSecret } from "./Secret.ts"
import { type Storage, StorageKeyEntry } from "./StorageConfig.ts"

export const BusConfig = Schema.Struct({
  keys: Schema.Array(StorageKeyEntry),
  writeKey: Schema.optionalKey(SealingKeyId)
})
export type BusConfig = typeof BusConfig.Type

const fail = (message: string) => Effect.fail(new ConfigError({ message }))

/** The id of the key that seals: `writeKey`, or the one key there is. */
const writeKeyOf = (section: BusConfig): Effect.Effect<string, ConfigError> => {
  const ids = section.keys.map((entry) => entry.id)
  const repeated = ids.find((id, index) => ids.indexOf(id) !== index)
  if (repeated !== undefined) return fail(`bus.keys: key id ${repeated} appears twice; ids must be unique`)
  const [only, ...others] = ids
  if (only === undefined) return fail("bus.keys is empty: add a key, or remove the bus section to send tokens in clear")
  if (section.writeKey === undefined) {
    return others.length === 0
      ? Effect.succeed(only)
      : fail(`bus.writeKey is missing: name the key of bus.keys that seals (${ids.join(", ")})`)
  }
  return ids.includes(section.writeKey)
    ? Effect.succeed(section.writeKey)
    : fail(`bus.writeKey is ${section.writeKey}, which is not in bus.keys (${ids.join(", ")})`)
}

const sameMaterial = (a: SealingKey, b: SealingKey): boolean =>
  Buffer.from(Redacted.value(a.material)).equals(Redacted.value(b.material))

const storageKeysOf = (storage: Storage): ReadonlyArray<SealingKey> =>
  storage.sealing === "sealed" ? storage.ring.keys : storage.keys

/**
 * Reads the section's keys into a ring, refusing a key `storage` also holds;
 * absent: tokens go on the bus in clear.
 */
export const resolveBus = Effect.fnUntraced(function*(section: BusConfig | undefined, storage: Storage) {
  if (section === undefined) return undefined
  const writeId = yield* writeKeyOf(section)
  const keys = yield* Effect.forEach(section.keys, (entry, index) =>
    Effect.gen(function*() {
      const field = `bus.keys[${index}].key`
      const secret = yield* resolveSecret(field, entry.key)
      const key = yield* Result.match(sealingKeyFromBase64(entry.id, secret), {
        onFailure: (error) => fail(`${field}: ${error.message}`),
        onSuccess: (key) => Effect.succeed(key)
      })
      const shared = storageKeysOf(storage).find((stored) => sameMaterial(stored, key))
      if (shared !== undefined) {
        return yield* fail(
          `${field} is storage key ${shared.id}: consumers are given the bus key, and the storage key opens ` +
            "what KV holds; give the bus a key of its own"
        )
      }
      return key
    }))
  const write = keys.find((key) => key.id === writeId)
  if (write === undefined) return yield* fail(`bus.writeKey is ${writeId}, which is not in bus.keys`)
  return { write, keys } satisfies KeyRing
})
