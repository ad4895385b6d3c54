/**
 * A key ring as the `storage` and `bus` sections write it: entries of an id
 * and a secret reference to the base64 of 32 random bytes, and the id of
 * the write key, the one that seals (any key of the ring opens). Both
 * sections read theirs here, so a ring is refused alike in either, each
 * message naming the section's own fields (`storage.keys[1].key`,
 * `bus.writeKey`); what differs between them (when a write key may be left
 * out, what an empty ring means) stays in the section's file.
 */
import { type KeyRing, type SealingKey, SealingKeyId, sealingKeyFromBase64 } from "@tokenbus/core"
import { Effect, Result, Schema } from "effect"
import { ConfigError } from "./ConfigError.ts"
import { resolveSecret, SecretRef } from "./Secret.ts"

export const KeyEntry = Schema.Struct({ id: SealingKeyId, key: SecretRef })
export type KeyEntry = typeof KeyEntry.Type

/** A check of one resolved key, given the field it came from (`bus.keys[0].key`). */
export type KeyCheck = (key: SealingKey, field: string) => Effect.Effect<void, ConfigError>

const fail = (message: string) => Effect.fail(new ConfigError({ message }))

const uniqueIds = (section: string, entries: ReadonlyArray<KeyEntry>): Effect.Effect<void, ConfigError> => {
  const ids = entries.map((entry) => entry.id)
  const repeated = ids.find((id, index) => ids.indexOf(id) !== index)
  return repeated === undefined
    ? Effect.void
    : fail(`${section}.keys: key id ${repeated} appears twice; ids must be unique`)
}

const resolveKey = (section: string, check: KeyCheck | undefined) => (entry: KeyEntry, index: number) =>
  Effect.gen(function*() {
    const field = `${section}.keys[${index}].key`
    const secret = yield* resolveSecret(field, entry.key)
    const key = yield* Result.match(sealingKeyFromBase64(entry.id, secret), {
      onFailure: (error) => fail(`${field}: ${error.message}`),
      onSuccess: (key) => Effect.succeed(key)
    })
    if (check !== undefined) yield* check(key, field)
    return key
  })

/** The section's keys, read into `Redacted` material; ids must be unique. */
export const resolveKeys = Effect.fnUntraced(function*(
  section: string,
  entries: ReadonlyArray<KeyEntry>,
  check?: KeyCheck
) {
  yield* uniqueIds(section, entries)
  const keys: ReadonlyArray<SealingKey> = yield* Effect.forEach(entries, resolveKey(section, check))
  return keys
})

/** The section's ring, sealing with `writeKey`, which must be one of its ids. */
export const resolveKeyRing = Effect.fnUntraced(function*(
  section: string,
  entries: ReadonlyArray<KeyEntry>,
  writeKey: string,
  check?: KeyCheck
) {
  yield* uniqueIds(section, entries)
  const ids = entries.map((entry) => entry.id)
  if (!ids.includes(writeKey)) {
    return yield* fail(`${section}.writeKey is ${writeKey}, which is not in ${section}.keys (${ids.join(", ")})`)
  }
  const keys = yield* resolveKeys(section, entries, check)
  const write = keys.find((key) => key.id === writeKey)
  if (write === undefined) return yield* fail(`${section}.writeKey is ${writeKey}, which is not in ${section}.keys`)
  return { write, keys } satisfies KeyRing
})
