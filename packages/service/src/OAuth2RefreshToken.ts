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
import { ProviderId } from "@tokenbus/core"
import { Effect, Option, Redacted, Schema } from "effect"
import type { MintedToken, Minter, MintInput } from "./Minter.ts"
import { resolveSecret, SecretRef } from "./Secret.ts"
import { HttpUrl, PositiveInt, withDefault } from "./ConfigFields.ts"
import { kindOfStatus, networkReason, upstreamFailure } from "./UpstreamError.ts"


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

const TokenResponse = Schema.Struct({
  access_token: Token,
  token_type: Schema.optionalKey(Schema.String),
  // Some servers send it as a string.
  expires_in: Schema.optionalKey(Schema.Union([Schema.Number, Schema.NumberFromString])),
  refresh_token: Schema.optionalKey(Token)
})
const decodeTokenResponse = Schema.decodeUnknownEffect(TokenResponse)

const decodeErrorCode = Schema.decodeUnknownOption(Schema.Struct({ error: Schema.String }))

const request = (config: ResolvedOAuth2RefreshTokenConfig, refreshToken: Redacted.Redacted<string>): RequestInit => {
  const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: Redacted.value(refreshToken) })
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json"
  }
  if (config.clientSecret !== undefined && config.clientAuth === "basic") {
    const basic = `${encodeURIComponent(config.clientId)}:${encodeURIComponent(Redacted.value(config.clientSecret))}`
    headers.authorization = `Basic ${Buffer.from(basic).toString("base64")}`
  } else {
    form.set("client_id", config.clientId)
    if (config.clientSecret !== undefined) form.set("client_secret", Redacted.value(config.clientSecret))
  }
  if (config.scope !== undefined) form.set("scope", config.scope)
  return { method: "POST", headers, body: form }
}

const digest = (token: Redacted.Redacted<string>): string =>
  createHash("sha256").update(Redacted.value(token)).digest("hex").slice(0, 32)

/**
 * Whether a failed call may be retried. Only when the request cannot have
 * reached the upstream: once it has, the upstream may have rotated the
 * refresh token, and retrying with the old one is the reuse that makes it
 * revoke the whole grant.
 */
const afterSending = (cause: unknown): "transient" | "refused" => {
  const code = (cause as { cause?: { code?: string } }).cause?.code
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" ? "transient" : "refused"
}

const make = (config: ResolvedOAuth2RefreshTokenConfig): Minter => {
  const origin = digest(config.refreshToken)

  const fail = upstreamFailure(config.id)

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

  const call = (refreshToken: Redacted.Redacted<string>) =>
    Effect.tryPromise({
      try: (signal) => fetch(config.tokenUrl, { ...request(config, refreshToken), signal }),
      catch: (cause) => fail(`token endpoint ${config.tokenUrl} unreachable: ${networkReason(cause)}`, afterSending(cause))
    })

  const body = (response: Response) =>
    Effect.tryPromise({
      try: () => response.json() as Promise<unknown>,
      catch: () =>
        fail(
          `token endpoint answered ${response.status} with a body that is not JSON`,
          response.ok ? "refused" : kindOfStatus(response.status),
          response
        )
    })

  const refusal = (response: Response, json: unknown) => {
    const code = Option.getOrUndefined(decodeErrorCode(json))?.error
    const detail = code === undefined ? "" : ` (${code})`
    const hint = code === "invalid_grant" ? ": the refresh token is spent, expired or revoked; a new grant is needed" : ""
    return fail(`token endpoint answered ${response.status}${detail}${hint}`, kindOfStatus(response.status, code), response)
  }

  const mint = Effect.fnUntraced(function*({ carry }: MintInput) {
    const refreshToken = yield* currentRefreshToken(carry)
    const response = yield* call(refreshToken)
    const json = yield* body(response)
    if (!response.ok) return yield* refusal(response, json)
    const token = yield* decodeTokenResponse(json).pipe(
      Effect.mapError(() => fail("token endpoint answered 200 without a usable access_token", "refused", response))
    )
    return {
      accessToken: token.access_token,
      tokenType: token.token_type ?? "Bearer",
      expiresInSeconds: token.expires_in,
      // The rotated token when there is one: the presented one is now spent.
      carry: Redacted.make(encodeCarry({ refreshToken: token.refresh_token ?? refreshToken, origin }))
    } satisfies MintedToken
  })

  return {
    mint: (input) =>
      mint(input).pipe(
        Effect.timeoutOrElse({
          duration: config.timeoutMillis,
          // The upstream may have rotated the refresh token and the answer is lost: a retry would reuse the old one.
          orElse: () => Effect.fail(fail(`token endpoint did not answer within ${config.timeoutMillis} ms`, "refused"))
        }),
        Effect.withSpan("OAuth2RefreshToken.mint", { attributes: { provider: config.id } })
      )
  }
}

/** Reads the secrets the config refers to; `field` names the provider in errors (`providers[0]`). */
const resolve = <C extends OAuth2RefreshTokenConfig>(config: C, field: string) =>
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
    return resolved as Omit<C, "clientSecret" | "refreshToken"> & ResolvedOAuth2RefreshTokenConfig
  })

export const OAuth2RefreshToken = { make, resolve }
