/**
 * A failed call to a provider's upstream. `kind` says what the leader should
 * do about it: retry later (`transient`), wait (`rate-limited`, with
 * `retryAfterMillis` from a 429's `Retry-After`), stop until an operator acts
 * (`credentials-rejected`, or `unusable`: the upstream answered in a way
 * this kind cannot use, and every call may cost something lasting, such as a
 * new permanent credential), or give up on this attempt (`refused`: the
 * upstream did not like the request or sent an unusable reply). `notSent`
 * says the request cannot have reached the upstream. The message never
 * contains a credential or a token.
 */
import { Data } from "effect"
import type { HttpClientResponse } from "effect/http"

export type UpstreamErrorKind = "transient" | "rate-limited" | "credentials-rejected" | "unusable" | "refused"

export class UpstreamError extends Data.TaggedError("UpstreamError")<{
  readonly provider: string
  readonly kind: UpstreamErrorKind
  readonly message: string
  readonly status?: number
  readonly retryAfterMillis?: number
  /** The connection never opened: nothing reached the upstream, so nothing was spent. */
  readonly notSent?: true
}> {}

/** OAuth2 error codes (RFC 6749 §5.2) that mean the credentials themselves were refused. */
const rejectedCredentials = new Set(["invalid_client", "invalid_grant", "unauthorized_client"])

/** What an HTTP status (and OAuth2 `error` code, when there was one) means for the leader. */
export const kindOfStatus = (status: number, errorCode?: string): UpstreamErrorKind => {
  if (status === 429) return "rate-limited"
  if (status >= 500 || status === 408) return "transient"
  if (status === 401 || status === 403) return "credentials-rejected"
  if (errorCode !== undefined && rejectedCredentials.has(errorCode)) return "credentials-rejected"
  return "refused"
}

const retryAfterMillis = (response: HttpClientResponse.HttpClientResponse): number | undefined => {
  const seconds = Number(response.headers["retry-after"])
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined
}

/** Builds one provider's upstream errors; see `upstreamFailure`. */
export type UpstreamFailure = (
  message: string,
  kind: UpstreamErrorKind,
  response?: HttpClientResponse.HttpClientResponse
) => UpstreamError

/** Builds a provider's upstream errors, with the status and `Retry-After` of `response` when there is one. */
export const upstreamFailure = (provider: string): UpstreamFailure => (message, kind, response) => {
  const retryAfter = response === undefined ? undefined : retryAfterMillis(response)
  return new UpstreamError({
    provider,
    kind,
    message,
    ...(response === undefined ? {} : { status: response.status }),
    ...(retryAfter === undefined ? {} : { retryAfterMillis: retryAfter })
  })
}
