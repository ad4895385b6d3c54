/**
 * An OAuth2 token endpoint (RFC 6749 §3.2), as both OAuth2 grants call it: a
 * form POST carrying the client's credentials, a 2xx answer decoded as a
 * token response (§5.1), and an error answer (§5.2) reduced to its status and
 * `error` code, which decide the kind of failure. Nothing else of an error
 * answer is kept: its description may echo what was sent.
 */
import { Effect, Option, Redacted, Schema } from "effect"
import type { MintedToken } from "../Minter.ts"
import { kindOfStatus, type UpstreamError, upstreamFailure } from "../UpstreamError.ts"
import { exchange, readJson } from "./UpstreamCall.ts"

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

const requestInit = (client: OAuth2Client, grant: Record<string, string>): RequestInit => {
  const form = new URLSearchParams(grant)
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json"
  }
  if (client.clientSecret !== undefined && client.clientAuth === "basic") {
    const basic = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(Redacted.value(client.clientSecret))}`
    headers.authorization = `Basic ${Buffer.from(basic).toString("base64")}`
  } else {
    form.set("client_id", client.clientId)
    if (client.clientSecret !== undefined) form.set("client_secret", Redacted.value(client.clientSecret))
  }
  if (client.scope !== undefined) form.set("scope", client.scope)
  return { method: "POST", headers, body: form }
}

/**
 * One call to the token endpoint: the decoded token response, or the failure
 * the answer means. The request is built anew on each run, so the secrets in
 * it live no longer than the call.
 */
export const requestToken = <A>(client: OAuth2Client, request: TokenRequest<A>): Effect.Effect<A, UpstreamError> => {
  const endpoint = { name: "token endpoint", fail: upstreamFailure(client.id) }
  const decodeReply = Schema.decodeUnknownEffect(request.reply)

  const refusal = (response: Response, json: unknown) => {
    const code = Option.getOrUndefined(decodeErrorCode(json))?.error
    const detail = code === undefined ? "" : ` (${code})`
    const hint = code === undefined ? undefined : request.hints?.get(code)
    const message = `token endpoint answered ${response.status}${detail}${hint === undefined ? "" : `: ${hint}`}`
    return Effect.fail(endpoint.fail(message, kindOfStatus(response.status, code), response))
  }

  const answer = (response: Response) =>
    readJson(endpoint, response).pipe(
      Effect.flatMap((json) =>
        response.ok
          ? Effect.mapError(
            decodeReply(json),
            () => endpoint.fail("token endpoint answered 200 without a usable access_token", "refused", response)
          )
          : refusal(response, json)
      )
    )

  return Effect.suspend(() =>
    exchange({
      ...endpoint,
      url: client.tokenUrl,
      init: requestInit(client, request.grant),
      address: `token endpoint ${client.tokenUrl}`,
      timeoutMillis: client.timeoutMillis,
      afterSending: request.afterSending
    }, answer)
  )
}
