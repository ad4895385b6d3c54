/**
 * The OAuth2 `client_credentials` grant (RFC 6749 §4.4), as project44 runs
 * it: a form-encoded POST with the client id and secret either in a Basic
 * header or in the body, never both. The reply's `access_token` becomes
 * `Redacted` at once; error replies are reduced to their `error` code.
 */
import { ProviderId } from "@tokenbus/core"
import { Effect, Option, Redacted, Schema } from "effect"
import { HttpUrl, PositiveInt, withDefault } from "./ConfigFields.ts"
import type { MintedToken, Minter } from "./Minter.ts"
import { resolveSecret, SecretRef } from "./Secret.ts"
import { kindOfStatus, networkReason, upstreamFailure } from "./UpstreamError.ts"

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

type Config = ResolvedClientCredentialsConfig

const TokenResponse = Schema.Struct({
  access_token: Schema.RedactedFromValue(Schema.NonEmptyString),
  token_type: Schema.optionalKey(Schema.String),
  // Some servers send it as a string.
  expires_in: Schema.optionalKey(Schema.Union([Schema.Number, Schema.NumberFromString]))
})
const decodeTokenResponse = Schema.decodeUnknownEffect(TokenResponse)

const ErrorResponse = Schema.Struct({ error: Schema.String })
const decodeErrorCode = Schema.decodeUnknownOption(ErrorResponse)

const request = (config: Config): RequestInit => {
  const form = new URLSearchParams({ grant_type: "client_credentials" })
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json"
  }
  const secret = Redacted.value(config.clientSecret)
  if (config.clientAuth === "basic") {
    const basic = `${encodeURIComponent(config.clientId)}:${encodeURIComponent(secret)}`
    headers.authorization = `Basic ${Buffer.from(basic).toString("base64")}`
  } else {
    form.set("client_id", config.clientId)
    form.set("client_secret", secret)
  }
  if (config.scope !== undefined) form.set("scope", config.scope)
  return { method: "POST", headers, body: form }
}

const make = (config: Config): Minter => {
  const fail = upstreamFailure(config.id)

  const call = Effect.tryPromise({
    try: (signal) => fetch(config.tokenUrl, { ...request(config), signal }),
    catch: (cause) => fail(`token endpoint ${config.tokenUrl} unreachable: ${networkReason(cause)}`, "transient")
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

  const mint = Effect.gen(function*() {
    const response = yield* call
    const json = yield* body(response)
    if (!response.ok) {
      const code = Option.getOrUndefined(decodeErrorCode(json))?.error
      const detail = code === undefined ? "" : ` (${code})`
      return yield* fail(`token endpoint answered ${response.status}${detail}`, kindOfStatus(response.status, code), response)
    }
    const token = yield* decodeTokenResponse(json).pipe(
      Effect.mapError(() => fail("token endpoint answered 200 without a usable access_token", "refused", response))
    )
    return {
      accessToken: token.access_token,
      tokenType: token.token_type ?? "Bearer",
      expiresInSeconds: token.expires_in
    } satisfies MintedToken
  }).pipe(
    Effect.timeoutOrElse({
      duration: config.timeoutMillis,
      orElse: () => Effect.fail(fail(`token endpoint did not answer within ${config.timeoutMillis} ms`, "transient"))
    }),
    Effect.withSpan("OAuth2ClientCredentials.mint", { attributes: { provider: config.id } })
  )

  return { mint: () => mint }
}

/** Reads the client secret the config refers to; `field` names the provider in errors (`providers[0]`). */
const resolve = <C extends OAuth2ClientCredentialsConfig>(config: C, field: string) =>
  resolveSecret(`${field}.clientSecret`, config.clientSecret).pipe(
    Effect.map((clientSecret) => ({ ...config, clientSecret }))
  )

export const OAuth2ClientCredentials = { make, resolve }
