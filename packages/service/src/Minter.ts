/**
 * A `Minter` obtains a fresh token from one provider's upstream. Each
 * provider kind implements it in its own file; `makeMinter` picks the one the
 * configuration names. Only the leader ever calls `mint`.
 */
import type { Effect, Redacted } from "effect"
import { OAuth2ClientCredentials } from "./OAuth2ClientCredentials.ts"
import type { ResolvedProvider } from "./ServiceConfig.ts"
import type { UpstreamError } from "./UpstreamError.ts"

export interface MintedToken {
  readonly accessToken: Redacted.Redacted<string>
  readonly tokenType: string
  /** Lifetime the upstream announced, when it announced one. */
  readonly expiresInSeconds: number | undefined
}

export interface Minter {
  readonly mint: Effect.Effect<MintedToken, UpstreamError>
}

export const makeMinter = (provider: ResolvedProvider): Minter => {
  switch (provider.kind) {
    case "oauth2-client-credentials":
      return OAuth2ClientCredentials.make(provider)
  }
}
