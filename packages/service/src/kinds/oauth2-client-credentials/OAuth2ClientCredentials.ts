/**
 * The OAuth2 `client_credentials` grant (RFC 6749 §4.4), as project44 runs
 * it: a form-encoded POST with the client id and secret either in a Basic
 * header or in the body, never both. The call itself, its timeout and what
 * its failures mean are the token endpoint's (upstream/OAuth2Endpoint.ts).
 */
import { onUnauthorized, ProviderId } from "@tokenbus/core"
import { Effect, type Redacted, Schema } from "effect"
import { HttpUrl, PositiveInt, withDefault } from "../../config/ConfigFields.ts"
import { resolveSecret, SecretRef } from "../../config/Secret.ts"
import { mintedToken, requestToken, TokenResponse } from "../../upstream/OAuth2Endpoint.ts"
import type { Minter, ProviderKind } from "../ProviderKind.ts"

export const OAuth2ClientCredentialsConfig = Schema.Struct({
  id: ProviderId,
  kind: Schema.Literal("oauth2-client-credentials"),
  tokenUrl: HttpUrl,
  clientId: Schema.NonEmptyString,
  clientSecret: SecretRef,
  /** project44 accepts the credentials in a Basic header or in the form body, never both. */
  clientAuth: Schema.Literals(["basic", "body"]),
  scope: Schema.optionalKey(Schema.String),
  /** How long one call to the token endpoint may take. */
  timeoutMillis: withDefault(PositiveInt, 10_000)
})
export type OAuth2ClientCredentialsConfig = typeof OAuth2ClientCredentialsConfig.Type

export interface ResolvedClientCredentialsConfig extends Omit<OAuth2ClientCredentialsConfig, "clientSecret"> {
  readonly clientSecret: Redacted.Redacted<string>
}

const make = (config: ResolvedClientCredentialsConfig): Minter => {
  // Nothing is spent by a client_credentials call, so a lost answer may be asked for again.
  const mint = requestToken(config, {
    grant: { grant_type: "client_credentials" },
    reply: TokenResponse,
    afterSending: "transient"
  }).pipe(
    Effect.map(mintedToken),
    Effect.withSpan("OAuth2ClientCredentials.mint", { attributes: { provider: config.id } })
  )

  return { mint: () => mint }
}

export const OAuth2ClientCredentials = {
  name: "oauth2-client-credentials",
  config: OAuth2ClientCredentialsConfig,
  resolve: (config, field) =>
    resolveSecret(`${field}.clientSecret`, config.clientSecret).pipe(
      Effect.map((clientSecret): ResolvedClientCredentialsConfig => ({ ...config, clientSecret }))
    ),
  minter: make,
  // project44's tokens live about 12 h and stay valid after a new one is minted: renew only when one is refused.
  lifecycle: () => onUnauthorized
} satisfies ProviderKind<typeof OAuth2ClientCredentialsConfig.fields, ResolvedClientCredentialsConfig>
