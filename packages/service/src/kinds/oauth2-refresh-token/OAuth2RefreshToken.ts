/**
 * The OAuth2 `refresh_token` grant (RFC 6749 §6), for upstreams that grant a
 * long-lived refresh token once (after a user's consent) and access tokens for
 * it. The refresh token in the config is only the first one: most providers
 * rotate it, answering each refresh with a new one and retiring the old, and
 * take a retired one presented again for theft, revoking every token of the
 * grant (RFC 9700 §4.14.2). So the current refresh token travels in the carry,
 * which the leader commits with the access token in one compare-and-set; only
 * the leader refreshes, so no refresh token is spent twice. The config's token
 * is used only when there is no carry: on the very first mint, or after the
 * stored one was lost, when it has most likely been spent already, and when
 * an operator has put a new one in the config (the carry remembers a digest of
 * the configured token it descends from), since that is how a revoked grant is
 * replaced.
 *
 * A reply without `refresh_token` (a provider that does not rotate) keeps the
 * current one in the carry. `invalid_grant` (spent, expired or revoked) means
 * the grant is gone and an operator must obtain a new refresh token.
 */
import { createHash } from "node:crypto"
import { proactive, ProviderId } from "@tokenbus/core"
import { Effect, Option, Redacted, Schema } from "effect"
import { HttpUrl, PositiveInt, withDefault } from "../../config/ConfigFields.ts"
import { resolveSecret, SecretRef } from "../../config/Secret.ts"
import { mintedToken, requestToken, TokenResponse } from "../../upstream/OAuth2Endpoint.ts"
import type { MintedToken, Minter, MintInput, ProviderKind } from "../ProviderKind.ts"

export const OAuth2RefreshTokenConfig = Schema.Struct({
  id: ProviderId,
  kind: Schema.Literal("oauth2-refresh-token"),
  tokenUrl: HttpUrl,
  clientId: Schema.NonEmptyString,
  /** Absent for a public client, which sends only its `client_id`. */
  clientSecret: Schema.optionalKey(SecretRef),
  /** How the secret is sent: a Basic header or form fields, never both. Required with `clientSecret`. */
  clientAuth: Schema.optionalKey(Schema.Literals(["basic", "body"])),
  /** The first refresh token; later ones come from the upstream's replies and live in the carry. */
  refreshToken: SecretRef,
  scope: Schema.optionalKey(Schema.String),
  /** How long one call to the token endpoint may take. */
  timeoutMillis: withDefault(PositiveInt, 10_000)
}).check(
  Schema.makeFilter((config) =>
    (config.clientSecret === undefined) === (config.clientAuth === undefined) ||
    "clientAuth must be given with clientSecret, and only with it"
  )
)
export type OAuth2RefreshTokenConfig = typeof OAuth2RefreshTokenConfig.Type

export interface ResolvedOAuth2RefreshTokenConfig
  extends Omit<OAuth2RefreshTokenConfig, "clientSecret" | "refreshToken">
{
  readonly clientSecret?: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string>
}

const Token = Schema.RedactedFromValue(Schema.NonEmptyString)

/** `origin`: a digest of the configured refresh token the carried one was rotated from. */
const Carry = Schema.fromJsonString(Schema.Struct({ refreshToken: Token, origin: Schema.String }))
const encodeCarry = Schema.encodeSync(Carry)
const decodeCarry = Schema.decodeUnknownOption(Carry)

const RefreshResponse = Schema.Struct({ ...TokenResponse.fields, refresh_token: Schema.optionalKey(Token) })

const hints = new Map([["invalid_grant", "the refresh token is spent, expired or revoked; a new grant is needed"]])

const digest = (token: Redacted.Redacted<string>): string =>
  createHash("sha256").update(Redacted.value(token)).digest("hex").slice(0, 32)

const make = (config: ResolvedOAuth2RefreshTokenConfig): Minter => {
  const origin = digest(config.refreshToken)

  /** The refresh token to spend: the carried one, unless the config holds a newer grant. */
  const currentRefreshToken = Effect.fnUntraced(function*(carry: Redacted.Redacted<string> | undefined) {
    if (carry === undefined) return config.refreshToken
    const decoded = decodeCarry(Redacted.value(carry))
    if (Option.isNone(decoded)) {
      yield* Effect.logWarning("the stored refresh token is unreadable; using the one in the configuration")
      return config.refreshToken
    }
    if (decoded.value.origin === origin) return decoded.value.refreshToken
    yield* Effect.logInfo("the configured refresh token has changed; using it instead of the stored one")
    return config.refreshToken
  })

  const mint = Effect.fnUntraced(function*({ carry }: MintInput) {
    const refreshToken = yield* currentRefreshToken(carry)
    const reply = yield* requestToken(config, {
      grant: { grant_type: "refresh_token", refresh_token: Redacted.value(refreshToken) },
      reply: RefreshResponse,
      // Once the request may have reached the upstream, it may have rotated the
      // refresh token: a retry with the old one is the reuse that makes it revoke
      // the whole grant. So only a call that cannot have been sent is retried.
      afterSending: "refused",
      hints
    })
    return {
      ...mintedToken(reply),
      // The rotated token when there is one: the presented one is now spent.
      carry: Redacted.make(encodeCarry({ refreshToken: reply.refresh_token ?? refreshToken, origin }))
    } satisfies MintedToken
  })

  return {
    mint: (input) => mint(input).pipe(Effect.withSpan("OAuth2RefreshToken.mint", { attributes: { provider: config.id } }))
  }
}

const resolve = (config: OAuth2RefreshTokenConfig, field: string) =>
  Effect.gen(function*() {
    const refreshToken = yield* resolveSecret(`${field}.refreshToken`, config.refreshToken)
    const clientSecret = config.clientSecret === undefined
      ? undefined
      : yield* resolveSecret(`${field}.clientSecret`, config.clientSecret)
    const { clientSecret: _clientSecretRef, refreshToken: _refreshTokenRef, ...rest } = config
    const resolved = {
      ...rest,
      refreshToken,
      ...(clientSecret === undefined ? {} : { clientSecret })
    }
    return resolved satisfies ResolvedOAuth2RefreshTokenConfig
  })

export const OAuth2RefreshToken = {
  name: "oauth2-refresh-token",
  config: OAuth2RefreshTokenConfig,
  resolve,
  minter: make,
  // The refresh token rotates: replaying one whose successor was lost would revoke the grant.
  lostAnswer: "stop",
  carries: () => true,
  // Access tokens of refresh-token grants are short-lived: renew at half-life.
  lifecycle: () => proactive(0.5)
} satisfies ProviderKind<typeof OAuth2RefreshTokenConfig.fields, ResolvedOAuth2RefreshTokenConfig>
