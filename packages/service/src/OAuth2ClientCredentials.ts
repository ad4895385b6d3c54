/**
 * The OAuth2 `client_credentials` grant (RFC 6749 §4.4), as project44 runs
 * it: a form-encoded POST with the client id and secret either in a Basic
 * header or in the body, never both. The reply's `access_token` becomes
 * `Redacted` at once; error replies are reduced to their `error` code.
 */
import { Effect, Option, Redacted, Schema } from "effect"
import type { MintedToken, Minter } from "./Minter.ts"
import type { ResolvedProvider } from "./ServiceConfig.ts"
import { kindOfStatus, UpstreamError, type UpstreamErrorKind } from "./UpstreamError.ts"

type Config = Extract<ResolvedProvider, { readonly kind: "oauth2-client-credentials" }>

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

/** Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND...) is in its cause. */
const networkReason = (cause: unknown): string => {
  const inner = (cause as { cause?: { code?: string; message?: string } }).cause
  return [(cause as Error).message, inner?.code ?? inner?.message].filter(Boolean).join(": ")
}

const retryAfterMillis = (response: Response): number | undefined => {
  const seconds = Number(response.headers.get("retry-after"))
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined
}

const make = (config: Config): Minter => {
  const fail = (message: string, kind: UpstreamErrorKind, response?: Response) => {
    const retryAfter = response === undefined ? undefined : retryAfterMillis(response)
    return new UpstreamError({
      provider: config.id,
      kind,
      message,
      ...(response === undefined ? {} : { status: response.status }),
      ...(retryAfter === undefined ? {} : { retryAfterMillis: retryAfter })
    })
  }

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

export const OAuth2ClientCredentials = { make }
