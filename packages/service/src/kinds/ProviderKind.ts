/**
 * A `Minter` obtains a fresh token from one provider's upstream. Each
 * provider kind implements it in its own file; `makeMinter` picks the one the
 * configuration names. Only the leader ever calls `mint`. A kind that needs
 * state between mints (ItemPath's refresh token) returns it as `carry`; the
 * leader stores it with the token in KV and hands it to the next mint, so it
 * survives failover without ever leaving the service.
 */
import type { Effect, Redacted } from "effect"
import { ItemPath } from "./ItemPath.ts"
import { OAuth2ClientCredentials } from "./OAuth2ClientCredentials.ts"
import { OAuth2RefreshToken } from "./OAuth2RefreshToken.ts"
import type { ResolvedProvider } from "./ServiceConfig.ts"
import { StaticToken } from "./StaticToken.ts"
import type { UpstreamError } from "./UpstreamError.ts"

export interface MintedToken {
  readonly accessToken: Redacted.Redacted<string>
  readonly tokenType: string
  /** Lifetime the upstream announced, when it announced one. */
  readonly expiresInSeconds: number | undefined
  /** What the next mint will need (a refresh token...): kept in KV with the token, never broadcast. */
  readonly carry?: Redacted.Redacted<string>
}

export interface MintInput {
  /** What the previous mint left, if anything; each kind reads its own format. */
  readonly carry: Redacted.Redacted<string> | undefined
}

export interface Minter {
  readonly mint: (input: MintInput) => Effect.Effect<MintedToken, UpstreamError>
}

export const makeMinter = (provider: ResolvedProvider): Minter => {
  switch (provider.kind) {
    case "oauth2-client-credentials":
      return OAuth2ClientCredentials.make(provider)
    case "itempath":
      return ItemPath.make(provider)
    case "oauth2-refresh-token":
      return OAuth2RefreshToken.make(provider)
    case "static":
      return StaticToken.make(provider)
  }
}
