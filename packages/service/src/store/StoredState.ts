/**
 * A provider's state as the tokens bucket holds it: JSON whose secrets, the
 * access token and the carry, are sealed with the storage's write key
 * (internal/SealedFields.ts), the rest readable. Encoding and decoding are
 * pure, so a tool or a test that reads the bucket directly reads it exactly
 * as a replica does, with the keys of the replica's `storage`.
 *
 * Decoding opens a sealed field with whichever key of the storage it names
 * and reads a field written in clear, before sealing was configured, as it
 * is. It reports which keys the record was sealed with (`labels`: key ids,
 * or "clear"), so the store can tell a record its write key did not seal.
 */
import { ProviderState, type SealingError } from "@tokenbus/core"
import { Data, Option, Result, Schema, Struct } from "effect"
import type { Storage } from "../config/StorageConfig.ts"
import { clearLabel, type FieldIvs, openSecrets, sealSecrets } from "./internal/SealedFields.ts"

const encodeState = Schema.encodeSync(ProviderState)
const decodeStored = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.toEncoded(ProviderState)))
const decodeState = Schema.decodeUnknownOption(ProviderState)

export type { FieldIvs } from "./internal/SealedFields.ts"

/** Why a stored record cannot be read: not a state, or a sealed field that does not open. */
export class StoredStateError extends Data.TaggedError("StoredStateError")<{
  readonly sealing: SealingError | undefined
  readonly message: string
}> {}

export interface DecodedState {
  readonly state: ProviderState
  /** The key id of each secret field's seal, or "clear"; empty for a state without secrets. */
  readonly labels: ReadonlyArray<string>
}

/** The keys a replica opens sealed states with. */
export const openingKeys = (storage: Storage) => (storage.sealing === "sealed" ? storage.ring.keys : storage.keys)

/** What a write with `storage` labels its secrets with: the write key's id, or "clear". */
export const writeLabel = (storage: Storage): string =>
  storage.sealing === "sealed" ? storage.ring.write.id : clearLabel

/** Why a record does not open, naming its key id and never its content. */
const unopened = (storage: Storage, error: SealingError): string => {
  const state = "the provider's state in KV"
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
  const undecodable = new StoredStateError({ sealing: undefined, message: "stored provider state does not decode" })
  const stored = decodeStored(value)
  if (Option.isNone(stored)) return Result.fail(undecodable)
  const opened = openSecrets(openingKeys(storage), provider, stored.value)
  if (Result.isFailure(opened)) {
    return Result.fail(new StoredStateError({ sealing: opened.failure, message: unopened(storage, opened.failure) }))
  }
  return Option.match(decodeState(opened.success.state), {
    onNone: () => Result.fail(undecodable),
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
