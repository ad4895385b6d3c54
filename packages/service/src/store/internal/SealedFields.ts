/**
 * The secrets of a provider's state as KV holds them: the access token and
 * the carry, each sealed with the write key (Sealing.ts in core) and bound
 * to the provider and the field, so a sealed value does not open under
 * another provider's key or in the other field's place. The rest of the
 * state (version, expiry, budget, breaker, fence) stays readable, so `nats
 * kv get` and the history still show who minted what and why. A field
 * written in clear, before sealing was configured, reads as it is.
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
import { Result } from "effect"

type Encoded = typeof ProviderState.Encoded
type SecretField = "accessToken" | "carry"

/** What a field written in clear is labelled, where a sealed one shows its key id. */
export const clearLabel = "clear"

/** One IV per field, drawn by the caller (12 random bytes each). */
export interface FieldIvs {
  readonly accessToken: Uint8Array
  readonly carry: Uint8Array
}

const aad = (provider: string, field: SecretField) => `tokenbus-kv:${provider}:${field}`

/** `state` with `f` applied to each secret field present. */
const mapSecrets = <E>(
  state: Encoded,
  f: (field: SecretField, text: string) => Result.Result<string, E>
): Result.Result<Encoded, E> =>
  Result.gen(function*() {
    const { carry, token } = state
    const accessToken = token === undefined ? undefined : yield* f("accessToken", token.accessToken)
    const sealedCarry = carry === undefined ? undefined : yield* f("carry", carry)
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
  mapSecrets(state, (field, text) => seal(ring.write, ivs[field], aad(provider, field), text))

/** The state with its sealed fields opened by `keys`, and the label of each secret field (key id or "clear"). */
export const openSecrets = (
  keys: ReadonlyArray<SealingKey>,
  provider: string,
  state: Encoded
): Result.Result<{ readonly state: Encoded; readonly labels: ReadonlyArray<string> }, SealingError> => {
  const labels: Array<string> = []
  const opened = mapSecrets(state, (field, text) => {
    if (!isSealed(text)) {
      labels.push(clearLabel)
      return Result.succeed(text)
    }
    return Result.map(unseal(keys, aad(provider, field), text), (plaintext) => {
      labels.push(sealedWith(text) ?? "unknown")
      return plaintext
    })
  })
  return Result.map(opened, (state) => ({ state, labels: [...new Set(labels)] }))
}
