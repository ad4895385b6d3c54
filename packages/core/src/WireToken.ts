/**
 * A token as it travels on the bus, in replies and updates: in clear, or,
 * when the cluster has a bus key, with its access token sealed for the
 * holders of that key (AES-256-GCM, the envelope of Sealing.ts) and every
 * other field readable, so a subscriber without the key learns the
 * provider, version, expiry and reason, never the secret.
 *
 * The seal is bound to the token's provider and version (`busAad`): an
 * envelope copied onto another provider's token, or another version's, does
 * not open. The signature (TokenSignature.ts) covers the token in clear, so
 * a holder of the key verifies after opening. PROTOCOL.md ("Sealed tokens")
 * has the bytes for a reader in another language.
 */
import { Redacted, Result, Schema } from "effect"
import { Version } from "./Fields.ts"
import { ProviderId } from "./ProviderId.ts"
import { seal, type SealingError, type SealingKey, unseal } from "./Sealing.ts"
import { Token, TokenRecord } from "./Token.ts"

const { accessToken: _, ...readableFields } = TokenRecord.fields

/** A token whose access token is sealed: `sealedAccessToken` in its place, the envelope of Sealing.ts. */
export const SealedToken = Schema.Struct({
  provider: ProviderId,
  version: Version,
  sealedAccessToken: Schema.String,
  ...readableFields
})
export type SealedToken = typeof SealedToken.Type

/**
 * The token field of a reply or an update. Sealed first: a payload that
 * carries `sealedAccessToken` is read as sealed whatever else it holds, so
 * an `accessToken` beside it is never taken for the real one.
 */
export const WireToken = Schema.Union([SealedToken, Token])
export type WireToken = typeof WireToken.Type

export const isSealedToken = (token: WireToken): token is SealedToken => "sealedAccessToken" in token

/** The additional data a token's seal is bound to (after the envelope's own header, `a256gcm.<key id>.`). */
export const busAad = (provider: string, version: number): string => `tokenbus-bus:${provider}:${version}`

/** `token` with its access token sealed with `key`; `iv` is 12 random bytes never used with `key` before. */
export const sealToken = (key: SealingKey, iv: Uint8Array, token: Token): Result.Result<SealedToken, SealingError> =>
  Result.map(
    seal(key, iv, busAad(token.provider, token.version), Redacted.value(token.accessToken)),
    (sealedAccessToken): SealedToken => ({
      provider: token.provider,
      version: token.version,
      sealedAccessToken,
      tokenType: token.tokenType,
      issuedAt: token.issuedAt,
      ...(token.expiresAt === undefined ? {} : { expiresAt: token.expiresAt }),
      reason: token.reason
    })
  )

/** The token in clear: opened with the key of `keys` its envelope names, when it is sealed. */
export const openToken = (keys: ReadonlyArray<SealingKey>, token: WireToken): Result.Result<Token, SealingError> => {
  if (!isSealedToken(token)) return Result.succeed(token)
  const { sealedAccessToken, ...readable } = token
  return Result.map(
    unseal(keys, busAad(token.provider, token.version), sealedAccessToken),
    (accessToken) => new Token({ ...readable, accessToken: Redacted.make(accessToken) })
  )
}
