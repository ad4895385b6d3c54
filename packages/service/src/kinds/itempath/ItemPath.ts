/**
 * ItemPath's username/password authentication, as its documentation has it:
 * a login answers an access token, which lives 15 minutes, and a refresh
 * token, which lives 30 days; the refresh token as bearer buys a new access
 * token, or, for users of type "application", an application token that
 * never expires. ItemPath announces no lifetimes, so the documented ones are
 * configuration. The calls are `internal/UserEndpoints.ts`; how access tokens
 * are renewed, with the session in the carry, `internal/AccessTokens.ts`.
 *
 * With `applicationToken`, each mint logs in and asks for an application
 * token, which has no expiry: the leader keeps it until a consumer reports a
 * 401. Nothing is carried then, so no long-lived secret sits in KV. Each such
 * call leaves a credential that never expires, so an answer without a usable
 * token stops the provider (`unusable`) rather than being asked again.
 */
import { onUnauthorized, proactive, ProviderId } from "@tokenbus/core"
import { Effect, type Redacted, Schema } from "effect"
import { HttpUrl, NonNegativeInt, PositiveInt, withDefault } from "../../config/ConfigFields.ts"
import { resolveSecret, SecretRef } from "../../config/Secret.ts"
import type { MintedToken, Minter, ProviderKind } from "../ProviderKind.ts"
import { accessTokenMint } from "./internal/AccessTokens.ts"
import { userEndpoints } from "./internal/UserEndpoints.ts"

export const ItemPathConfig = Schema.Struct({
  id: ProviderId,
  kind: Schema.Literal("itempath"),
  /** Where ItemPath answers, e.g. `https://acme.itempath.com`; `/api/users/...` is appended. */
  baseUrl: HttpUrl,
  username: Schema.NonEmptyString,
  password: SecretRef,
  /** Mint non-expiring application tokens instead of 15-minute access tokens. */
  applicationToken: withDefault(Schema.Boolean, false),
  /** ItemPath's access token lifetime; it does not say so in its answers. */
  accessTokenLifetimeSeconds: withDefault(PositiveInt, 900),
  refreshTokenLifetimeSeconds: withDefault(PositiveInt, 30 * 86_400),
  /** Log in again rather than refresh once the refresh token has less than this left. */
  refreshMarginSeconds: withDefault(NonNegativeInt, 86_400),
  /** How long one call to ItemPath may take. */
  timeoutMillis: withDefault(PositiveInt, 10_000)
}).check(
  Schema.makeFilter((config) =>
    config.refreshMarginSeconds < config.refreshTokenLifetimeSeconds ||
    "refreshMarginSeconds must be less than refreshTokenLifetimeSeconds"
  )
)
export type ItemPathConfig = typeof ItemPathConfig.Type

export interface ResolvedItemPathConfig extends Omit<ItemPathConfig, "password"> {
  readonly password: Redacted.Redacted<string>
}

const make = (config: ResolvedItemPathConfig): Minter => {
  const account = { ...config, baseUrl: config.baseUrl.replace(/\/+$/, "") }
  const endpoints = userEndpoints(account)

  const mintApplicationToken = endpoints.login.pipe(
    Effect.flatMap(({ refreshToken }) => endpoints.applicationToken(refreshToken)),
    Effect.map((accessToken): MintedToken => ({ accessToken, tokenType: "Bearer", expiresInSeconds: undefined }))
  )
  const mintAccessToken = accessTokenMint(account, endpoints)

  const span = Effect.withSpan("ItemPath.mint", { attributes: { provider: config.id } })
  return {
    mint: (input) => (config.applicationToken ? mintApplicationToken : mintAccessToken(input)).pipe(span)
  }
}

export const ItemPath = {
  name: "itempath",
  config: ItemPathConfig,
  resolve: (config, field) =>
    resolveSecret(`${field}.password`, config.password).pipe(
      Effect.map((password): ResolvedItemPathConfig => ({ ...config, password }))
    ),
  minter: make,
  // A password is configured, so a session whose fate is unknown is replaced by a login, never guessed at.
  lostAnswer: "log-in-again",
  // The session (its refresh token) is carried, except for application tokens.
  carries: (config) => !config.applicationToken,
  // Access tokens live 15 minutes: renew at half-life. Application tokens never expire.
  lifecycle: (config) => (config.applicationToken ? onUnauthorized : proactive(0.5))
} satisfies ProviderKind<typeof ItemPathConfig.fields, ResolvedItemPathConfig>
