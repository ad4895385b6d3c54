/**
 * An OAuth2 token endpoint (RFC 6749 §3.2), as both OAuth2 grants call it: a
 * form POST carrying the client's credentials, a 2xx answer decoded as a
 * token response (§5.1), and an error answer (§5.2) reduced to its status and
 * `error` code, which decide the kind of failure. Nothing else of an error
 * answer is kept: its description may echo what was sent, and so may the
 * code itself, which is named only when it looks like an OAuth2 code.
 */
import { Effect, Option, Redacted, Schema } from "effect"
import { type HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import type { MintedToken } from "../kinds/ProviderKind.ts"
import { isSuccess } from "./BoundedBody.ts"
import { exchange, readJson, type UpstreamCall } from "./UpstreamCall.ts"
import { kindOfStatus, type UpstreamError, upstreamFailure } from "./UpstreamError.ts"

/** The client as the grants' configs describe it. */
export interface OAuth2Client {
  readonly id: string
  readonly tokenUrl: string
  readonly clientId: string
  /** Absent for a public client, which sends only its `client_id`. */
  readonly clientSecret?: Redacted.Redacted<string>
  /** Where the secret goes: a Basic header or form fields, never both. */
  readonly clientAuth?: "basic" | "body"
  readonly scope?: string
  readonly timeoutMillis: number
}

export interface TokenRequest<A> {
  /** The grant's own form fields: `grant_type` and what that grant needs. */
  readonly grant: Record<string, string>
  /** Decodes a 2xx answer; one it cannot decode is refused. */
  readonly reply: Schema.Decoder<A>
  /** See `UpstreamCall.afterSending`. */
  readonly afterSending: "transient" | "refused"
  /** Added to the message of an error answer with this `error` code: what an operator should know. */
  readonly hints?: ReadonlyMap<string, string>
}

/** The part of a token response (RFC 6749 §5.1) that a minted token is made of. */
export const TokenResponse = Schema.Struct({
  access_token: Schema.RedactedFromValue(Schema.NonEmptyString),
  token_type: Schema.optionalKey(Schema.String),
  // Some servers send it as a string.
  expires_in: Schema.optionalKey(Schema.Union([Schema.Number, Schema.NumberFromString]))
})

export const mintedToken = (reply: typeof TokenResponse.Type): MintedToken => ({
  accessToken: reply.access_token,
  tokenType: reply.token_type ?? "Bearer",
  expiresInSeconds: reply.expires_in
})

const decodeErrorCode = Schema.decodeUnknownOption(Schema.Struct({ error: Schema.String }))

/**
 * The `error` code as a message may name it. It is the upstream's own text,
 * and an upstream that echoes the request puts the client secret or the
 * refresh token there: only a code shaped like OAuth2's (lowercase words
 * joined by `_`: `invalid_client`, project44's `rate_limited`) that holds
 * none of what this call sent is named, so none reaches a log, the breaker's
 * reason in KV, or a consumer's reply.
 */
const shownCode = (code: string | undefined, sent: ReadonlyArray<string>): string | undefined =>
  code !== undefined && /^[a-z]{1,32}(_[a-z]{1,32}){0,7}$/.test(code) &&
    !sent.some((value) => value.length > 0 && code.includes(value))
    ? code
    : undefined

/** The POST of `grant`, with the client's credentials where `clientAuth` puts them. */
const tokenPost = (client: OAuth2Client, grant: Record<string, string>): HttpClientRequest.HttpClientRequest => {
  const form = new URLSearchParams(grant)
  const headers: Record<string, string> = { accept: "application/json" }
  if (client.clientSecret !== undefined && client.clientAuth === "basic") {
    const basic = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(Redacted.value(client.clientSecret))}`
    headers.authorization = `Basic ${Buffer.from(basic).toString("base64")}`
  } else {
    form.set("client_id", client.clientId)
    if (client.clientSecret !== undefined) form.set("client_secret", Redacted.value(client.clientSecret))
  }
  if (client.scope !== undefined) form.set("scope", client.scope)
  return HttpClientRequest.post(client.tokenUrl, { headers }).pipe(HttpClientRequest.bodyUrlParams(form))
}

/**
 * One call to the token endpoint: the decoded token response, or the failure
 * the answer means. The request is built anew on each run, so the secrets in
 * it live no longer than the call.
 */
export const requestToken = <A>(
  client: OAuth2Client,
  request: TokenRequest<A>
): Effect.Effect<A, UpstreamError, HttpClient.HttpClient> => {
  const fail = upstreamFailure(client.id)
  const decodeReply = Schema.decodeUnknownEffect(request.reply)

  /** What this call sent that an echo must not repeat: the client secret and the grant's own values. */
  const sent = (): ReadonlyArray<string> => [
    ...(client.clientSecret === undefined ? [] : [Redacted.value(client.clientSecret)]),
    ...Object.entries(request.grant).flatMap(([field, value]) => (field === "grant_type" ? [] : [value]))
  ]

  const refusal = (response: HttpClientResponse.HttpClientResponse, json: unknown) => {
    const answered = Option.getOrUndefined(decodeErrorCode(json))?.error
    const code = shownCode(answered, sent())
    const detail = code !== undefined ? ` (${code})` : answered === undefined ? "" : " (an error code not shown)"
    const hint = code === undefined ? undefined : request.hints?.get(code)
    const message = `token endpoint answered ${response.status}${detail}${hint === undefined ? "" : `: ${hint}`}`
    return Effect.fail(fail(message, kindOfStatus(response.status, code), response))
  }

  const answer = (call: UpstreamCall) => (response: HttpClientResponse.HttpClientResponse) =>
    readJson(call, response).pipe(
      Effect.flatMap((json) =>
        isSuccess(response)
          ? Effect.mapError(
            decodeReply(json),
            () => fail(`token endpoint answered ${response.status} without a usable access_token`, "refused", response)
          )
          : refusal(response, json)
      )
    )

  return Effect.suspend(() => {
    const call: UpstreamCall = {
      name: "token endpoint",
      fail,
      request: tokenPost(client, request.grant),
      address: `token endpoint ${client.tokenUrl}`,
      timeoutMillis: client.timeoutMillis,
      afterSending: request.afterSending
    }
    return exchange(call, answer(call))
  })
}
