/**
 * A provider's state as the tokens bucket holds it: JSON whose secrets, the
 * access token and the carry, are sealed with the storage's write key
 * (internal/SealedFields.ts), the rest readable. Encoding and decoding are
 * pure, so a tool or a test that reads the bucket directly reads it exactly
 * as a replica does, with the keys of the replica's `storage`.
 *
 * Decoding opens a sealed field with whichever key of the storage it names.
 * A field in clear is read as it is only by a storage without a write key or
 * one turning sealing on (`storage.readClear`): with a write key, anyone who
 * may write the bucket could have put it there, so the record is refused
 * like one that does not open. It reports which keys the record was sealed with (`labels`: key ids,
 * or "clear"), so the store can tell a record its write key did not seal.
 */
import { ProviderState, type SealingError } from "@tokenbus/core"
import { Data, Option, Result, Schema, Struct } from "effect"
import type { Storage } from "../config/StorageConfig.ts"
import { type ClearSecret, clearLabel, type FieldIvs, openSecrets, sealSecrets } from "./internal/SealedFields.ts"

const encodeState = Schema.encodeSync(ProviderState)
const decodeStored = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.toEncoded(ProviderState)))
const decodeState = Schema.decodeUnknownOption(ProviderState)

export type { FieldIvs } from "./internal/SealedFields.ts"

/** Why a stored record cannot be read: not a state, a sealed field that does not open, or a secret in clear. */
export class StoredStateError extends Data.TaggedError("StoredStateError")<{
  readonly sealing: SealingError | undefined
  /** The key id the record names: its seal's, or "clear" for a secret in clear; undefined when it names none. */
  readonly keyId: string | undefined
  readonly message: string
}> {}

export interface DecodedState {
  readonly state: ProviderState
  /** The key id of each secret field's seal, or "clear"; empty for a state without secrets. */
  readonly labels: ReadonlyArray<string>
}

/** The keys a replica opens sealed states with. */
export const openingKeys = (storage: Storage) => (storage.sealing === "sealed" ? storage.ring.keys : storage.keys)

/** Whether `storage` reads a secret in clear: without a write key, or while turning sealing on. */
export const readsClear = (storage: Storage): boolean =>
  storage.sealing === "clear" || storage.readClear === true

/** What a write with `storage` labels its secrets with: the write key's id, or "clear". */
export const writeLabel = (storage: Storage): string =>
  storage.sealing === "sealed" ? storage.ring.write.id : clearLabel

const state = "the provider's state in KV"

/** Why a record does not open, naming its key id and never its content. */
const unopened = (storage: Storage, error: SealingError | ClearSecret): string => {
  if (error._tag === "ClearSecret") {
    return `${state} holds its ${error.field} in clear, which a storage with a write key does not read (anyone ` +
      "who may write the tokens bucket could have put it there; set storage.readClear only while turning sealing on)"
  }
  switch (error.reason) {
    case "unknown-key":
      return openingKeys(storage).length > 0
        ? `${state} is sealed with key ${error.keyId}, which storage.keys does not hold`
        : `${state} is sealed with key ${error.keyId}, and storage has no keys`
    case "rejected":
      return `${state} does not open with key ${error.keyId}: altered, or another key under that id`
    default:
      return `${state} cannot be opened: ${error.message}`
  }
}

/** Reads `value`, the record of `provider`, with the keys of `storage`. */
export const decodeStoredState = (
  storage: Storage,
  provider: string,
  value: string
): Result.Result<DecodedState, StoredStateError> => {
  // Made only when needed: an error captures a stack, and every read of the bucket decodes.
  const undecodable = () =>
    new StoredStateError({ sealing: undefined, keyId: undefined, message: "stored provider state does not decode" })
  const stored = decodeStored(value)
  if (Option.isNone(stored)) return Result.fail(undecodable())
  const opened = openSecrets({ keys: openingKeys(storage), readClear: readsClear(storage) }, provider, stored.value)
  if (Result.isFailure(opened)) {
    const failure = opened.failure
    const sealing = failure._tag === "SealingError" ? failure : undefined
    const keyId = sealing === undefined ? clearLabel : sealing.keyId
    return Result.fail(new StoredStateError({ sealing, keyId, message: unopened(storage, failure) }))
  }
  return Option.match(decodeState(opened.success.state), {
    onNone: () => Result.fail(undecodable()),
    onSome: (state) => Result.succeed({ state, labels: opened.success.labels })
  })
}

/**
 * The record of `state` for `provider`: its secrets sealed with the storage's
 * write key, each with its own IV from `ivs`; without a write key, the access
 * token in clear and no carry at all, since a carry is never stored in clear.
 */
export const encodeStoredState = (
  storage: Storage,
  provider: string,
  state: ProviderState,
  ivs: FieldIvs
): Result.Result<string, SealingError> => {
  if (storage.sealing === "clear") return Result.succeed(JSON.stringify(encodeState(Struct.omit(state, ["carry"]))))
  const encoded = encodeState(state)
  return Result.map(sealSecrets(storage.ring, provider, encoded, ivs), (sealed) => JSON.stringify(sealed))
}
