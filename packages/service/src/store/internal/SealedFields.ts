/**
 * The secrets of a provider's state as KV holds them: the access token and
 * the carry, each sealed with the write key (Sealing.ts in core) and bound
 * to the provider and the field, the access token also to its version, so a
 * sealed value does not open under another provider's key, in the other
 * field's place, or copied from an older revision under a newer version. The
 * rest of the state (version, expiry, budget, breaker, fence) stays readable,
 * so `nats kv get` and the history still show who minted what and why.
 *
 * A field in clear is read as it is only where the caller allows it: a
 * storage without a write key, or one turning sealing on (`readClear`).
 * Otherwise it is refused, since anyone who may write the bucket could have
 * put it there.
 */
import {
  isSealed,
  type KeyRing,
  type ProviderState,
  seal,
  sealedWith,
  type SealingError,
  type SealingKey,
  unseal
} from "@tokenbus/core"
import { Data, Result } from "effect"

type Encoded = typeof ProviderState.Encoded
type SecretField = "accessToken" | "carry"

/** What a field written in clear is labelled, where a sealed one shows its key id. */
export const clearLabel = "clear"

/** One IV per field, drawn by the caller (12 random bytes each). */
export interface FieldIvs {
  readonly accessToken: Uint8Array
  readonly carry: Uint8Array
}

/** A secret field found in clear where only sealed ones are read. */
export class ClearSecret extends Data.TaggedError("ClearSecret")<{ readonly field: SecretField }> {}

/** What a sealed field is bound to: its provider and field, and an access token to its version. */
const aad = (provider: string, field: SecretField, version: number | undefined) =>
  field === "accessToken" ? `tokenbus-kv:${provider}:${field}:${version ?? "none"}` : `tokenbus-kv:${provider}:${field}`

/** `state` with `f` applied to each secret field present, given the token's version. */
const mapSecrets = <E>(
  state: Encoded,
  f: (field: SecretField, text: string, version: number | undefined) => Result.Result<string, E>
): Result.Result<Encoded, E> =>
  Result.gen(function*() {
    const { carry, token } = state
    const accessToken = token === undefined ? undefined : yield* f("accessToken", token.accessToken, token.version)
    const sealedCarry = carry === undefined ? undefined : yield* f("carry", carry, token?.version)
    return {
      ...state,
      ...(token === undefined || accessToken === undefined ? {} : { token: { ...token, accessToken } }),
      ...(sealedCarry === undefined ? {} : { carry: sealedCarry })
    }
  })

/** The state with its access token and carry sealed with the ring's write key. */
export const sealSecrets = (
  ring: KeyRing,
  provider: string,
  state: Encoded,
  ivs: FieldIvs
): Result.Result<Encoded, SealingError> =>
  mapSecrets(state, (field, text, version) => seal(ring.write, ivs[field], aad(provider, field, version), text))

/** How `openSecrets` reads: with these keys, and whether a field in clear is read or refused. */
export interface Opening {
  readonly keys: ReadonlyArray<SealingKey>
  readonly readClear: boolean
}

/** The state with its sealed fields opened, and the label of each secret field (key id or "clear"). */
export const openSecrets = (
  { keys, readClear }: Opening,
  provider: string,
  state: Encoded
): Result.Result<{ readonly state: Encoded; readonly labels: ReadonlyArray<string> }, SealingError | ClearSecret> => {
  const labels: Array<string> = []
  const opened = mapSecrets<SealingError | ClearSecret>(state, (field, text, version) => {
    if (!isSealed(text)) {
      if (!readClear) return Result.fail(new ClearSecret({ field }))
      labels.push(clearLabel)
      return Result.succeed(text)
    }
    return Result.map(unseal(keys, aad(provider, field, version), text), (plaintext) => {
      labels.push(sealedWith(text) ?? "unknown")
      return plaintext
    })
  })
  return Result.map(opened, (state) => ({ state, labels: [...new Set(labels)] }))
}
