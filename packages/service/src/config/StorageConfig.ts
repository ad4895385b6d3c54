/**
 * The `storage` section: how tokens and carries (refresh tokens) are kept in
 * the tokens bucket. Either a key ring, whose `writeKey` seals every write
 * and any of whose keys opens what was sealed (so a key rotates without
 * downtime, docs/key-rotation.md), or an explicit `accessTokensInClear` for
 * a deployment that accepts access tokens readable by whoever can read the
 * bucket. A carry is never stored in clear: a provider whose kind keeps one
 * needs a write key. A file with neither stops start-up, saying what to add.
 *
 *   "storage": { "keys": [{ "id": "k1", "key": { "file": "/run/secrets/storage-key" } }], "writeKey": "k1" }
 *
 * Keys with `accessTokensInClear` and no `writeKey` open sealed states and
 * write (and read) in clear: the first step of turning sealing on (or the
 * last of turning it off) on a running cluster. With a write key, a secret
 * found in clear in the bucket is refused (whoever may write the bucket
 * could have put it there), unless `readClear` is set: only for the rolling
 * change that turns sealing on, removed once every state is sealed. A key is the base64 of 32 random
 * bytes (`openssl rand -base64 32`), read like every secret (`{ "env" }`,
 * `{ "file" }`) into a `Redacted` value; the ring is read as the bus's is
 * (KeyRing.ts).
 */
import { type KeyRing, type SealingKey, SealingKeyId } from "@tokenbus/core"
import { Effect, Schema } from "effect"
import { ConfigError } from "./ConfigError.ts"
import { KeyEntry, resolveKeyRing, resolveKeys } from "./KeyRing.ts"

export const StorageConfig = Schema.Struct({
  /** Every key a replica may need to open a stored record with; `writeKey` names the one that seals. */
  keys: Schema.optionalKey(Schema.Array(KeyEntry)),
  writeKey: Schema.optionalKey(SealingKeyId),
  /** Stores access tokens without sealing them; never carries. */
  accessTokensInClear: Schema.optionalKey(Schema.Boolean),
  /** With `writeKey`: still reads secrets stored in clear, while turning sealing on; remove it afterwards. */
  readClear: Schema.optionalKey(Schema.Boolean)
})
export type StorageConfig = typeof StorageConfig.Type

/**
 * The storage a replica runs with: a key ring (reading secrets stored in
 * clear only with `readClear`), or access tokens in clear (and no carry at
 * all), opening with `keys` what an earlier ring sealed.
 */
export type Storage =
  | { readonly sealing: "sealed"; readonly ring: KeyRing; readonly readClear?: boolean }
  | { readonly sealing: "clear"; readonly keys: ReadonlyArray<SealingKey> }

/** What the storage check needs to know of a provider. */
export interface StoredProvider {
  readonly id: string
  readonly kind: string
  /** Its mints return a carry, which KV must keep. */
  readonly carries: boolean
}

const keyExample = `"storage": { "keys": [{ "id": "k1", "key": { "file": "/run/secrets/tokenbus-storage-key" } }], ` +
  `"writeKey": "k1" }`
const keyAdvice = `${keyExample}, a key being the base64 of 32 random bytes (openssl rand -base64 32)`

const fail = (message: string) => Effect.fail(new ConfigError({ message }))

const noStorage = fail(
  `storage: no key to seal tokens in KV with. Add ${keyAdvice}; or, to keep access tokens in KV in clear, ` +
    `readable by anyone who can read the tokens bucket, "storage": { "accessTokensInClear": true }`
)

const noKeys = fail(`storage.keys is empty: add a key, ${keyExample}`)

const resolveRing = Effect.fnUntraced(function*(
  entries: ReadonlyArray<KeyEntry>,
  writeKey: string,
  readClear: boolean
) {
  if (entries.length === 0) return yield* noKeys
  const ring = yield* resolveKeyRing("storage", entries, writeKey)
  return { sealing: "sealed", ring, readClear } satisfies Storage
})

const carryInClear = (providers: ReadonlyArray<StoredProvider>) => {
  const index = providers.findIndex((provider) => provider.carries)
  const carrying = providers[index]
  if (carrying === undefined) return undefined
  return fail(
    `providers[${index}] (${carrying.id}, kind ${carrying.kind}) keeps a refresh token in KV between mints, ` +
      `which tokenbus stores only sealed (storage.accessTokensInClear covers access tokens only). Add ${keyAdvice}`
  )
}

/** Reads the section's keys; refuses a file with neither a write key nor the opt-in, and a carry without a key. */
export const resolveStorage = Effect.fnUntraced(function*(
  section: StorageConfig | undefined,
  providers: ReadonlyArray<StoredProvider>
) {
  const { accessTokensInClear = false, keys, readClear = false, writeKey } = section ?? {}
  if (writeKey !== undefined && accessTokensInClear) {
    return yield* fail(
      "storage: writeKey and accessTokensInClear exclude each other; with a write key, every token is sealed " +
        "(remove one)"
    )
  }
  if (writeKey !== undefined) {
    if (keys === undefined) return yield* fail(`storage.writeKey is ${writeKey}, but storage.keys is missing`)
    return yield* resolveRing(keys, writeKey, readClear)
  }
  if (!accessTokensInClear) {
    if (keys === undefined) return yield* noStorage
    const ids = keys.map((entry) => entry.id).join(", ")
    return yield* fail(
      `storage.writeKey is missing: name the key of storage.keys that seals new writes (${ids}), or set ` +
        "storage.accessTokensInClear to keep writing access tokens in clear"
    )
  }
  const refused = carryInClear(providers)
  if (refused !== undefined) return yield* refused
  if (keys?.length === 0) return yield* noKeys
  return { sealing: "clear", keys: keys === undefined ? [] : yield* resolveKeys("storage", keys) } satisfies Storage
})
