/**
 * One HTTP request from a minter to its provider's upstream, sent through the
 * `HttpClient` in context (the replica's fetch client; a test's own): bounded
 * by a timeout that aborts the request, never following a redirect, and
 * failing only with `UpstreamError`s whose messages name the call and its
 * URL, never what was sent (a form or body may hold a password or a refresh
 * token). What the answer means is the caller's business; this module reads
 * bodies only as JSON, and only as much as `BoundedBody` allows.
 */
import { Effect, Option, Result } from "effect"
import {
  FetchHttpClient,
  HttpClient,
  type HttpClientError,
  type HttpClientRequest,
  type HttpClientResponse,
  Url
} from "effect/http"
import { type BodyReader, discardBody, isSuccess, readBody } from "./BoundedBody.ts"
import { kindOfStatus, UpstreamError, type UpstreamFailure } from "./UpstreamError.ts"

export interface UpstreamCall extends BodyReader {
  /** Built anew for each call, so the secrets in it live no longer than the call. */
  readonly request: HttpClientRequest.HttpClientRequest
  /** Names the call in messages: "token endpoint", "ItemPath login". */
  readonly name: string
  /** Names the call and where it went, for when it got nowhere: "ItemPath login at https://…". */
  readonly address: string
  readonly timeoutMillis: number
  /**
   * What a failure is when the request may have reached the upstream: a
   * timeout, a connection dropped mid-call. `transient` lets the leader
   * retry; `refused` is for a request the upstream may have acted on and
   * that must not be sent again.
   */
  readonly afterSending: "transient" | "refused"
  readonly fail: UpstreamFailure
}

/** Errors of a connection that never opened: the request cannot have reached the upstream, so a retry is safe. */
const notSent = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"])

/** Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND...) is in its cause. */
const networkCause = (cause: unknown): { readonly code?: string; readonly reason: string } => {
  const outer = typeof cause === "object" && cause !== null ? cause as { message?: unknown; cause?: unknown } : {}
  const inner = typeof outer.cause === "object" && outer.cause !== null
    ? outer.cause as { code?: unknown; message?: unknown }
    : {}
  const code = typeof inner.code === "string" ? inner.code : undefined
  const detail = code ?? (typeof inner.message === "string" ? inner.message : undefined)
  const reason = [typeof outer.message === "string" ? outer.message : undefined, detail].filter(Boolean).join(": ")
  return { ...(code === undefined ? {} : { code }), reason: reason === "" ? "transport error" : reason }
}

/** What a request that got no answer means; nothing of the request itself goes into the message. */
const unanswered = (call: UpstreamCall, error: HttpClientError.HttpClientError): UpstreamError => {
  const reason = error.reason
  switch (reason._tag) {
    case "TransportError": {
      const { code, reason: why } = networkCause(reason.cause)
      const message = `${call.address} unreachable: ${why}`
      if (code === undefined || !notSent.has(code)) return call.fail(message, call.afterSending)
      const { provider, kind } = call.fail(message, "transient")
      return new UpstreamError({ provider, kind, message, notSent: true })
    }
    case "InvalidUrlError":
    case "EncodeError":
      // Nothing was sent, and sending it again would fail the same way.
      return call.fail(`${call.address} could not be sent (${reason._tag})`, "refused")
    default:
      return call.fail(`${call.address} failed (${reason._tag})`, call.afterSending)
  }
}

const isRedirect = (response: HttpClientResponse.HttpClientResponse) => response.status >= 300 && response.status < 400

/**
 * A redirect is refused: following a POST elsewhere would hand the
 * credentials in it to whoever the `Location` names, and a token URL that
 * redirects is a configuration to fix. Only the host is told, never the body
 * or the rest of the `Location`, which may carry what was sent.
 */
const refuseRedirect = (call: UpstreamCall, response: HttpClientResponse.HttpClientResponse) => {
  const location = response.headers.location
  const target = location === undefined
    ? "no Location"
    : Result.match(Url.fromString(location, call.request.url), {
      onSuccess: (url) => url.host === "" ? "an unreadable Location" : `Location host ${url.host}`,
      onFailure: () => "an unreadable Location"
    })
  const message = `${call.name} answered ${response.status} (a redirect, ${target}); redirects are not followed`
  return discardBody(response).pipe(Effect.andThen(Effect.fail(call.fail(message, "refused", response))))
}

/** The client in context, asked not to follow redirects and not to hand the upstream our trace ids. */
const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const init = Option.getOrUndefined(yield* Effect.serviceOption(FetchHttpClient.RequestInit))
    return yield* client.execute(request).pipe(
      // fetch follows redirects itself unless told otherwise; other clients do not follow them at all.
      Effect.provideService(FetchHttpClient.RequestInit, { ...init, redirect: "manual" }),
      Effect.provideService(HttpClient.TracerPropagationEnabled, false)
    )
  })

/**
 * Sends the request and reads the answer with `read`, both within the
 * timeout: running out of time interrupts `read` and aborts the request, so
 * a hanging upstream does not keep a socket. A redirect never reaches `read`.
 */
export const exchange = <A>(
  call: UpstreamCall,
  read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, UpstreamError>
): Effect.Effect<A, UpstreamError, HttpClient.HttpClient> =>
  send(call.request).pipe(
    Effect.mapError((error) => unanswered(call, error)),
    Effect.flatMap((response) => isRedirect(response) ? refuseRedirect(call, response) : read(response)),
    Effect.timeoutOrElse({
      duration: call.timeoutMillis,
      orElse: () =>
        Effect.fail(call.fail(`${call.name} did not answer within ${call.timeoutMillis} ms`, call.afterSending))
    })
  )

/**
 * The answer's body as JSON, read within `BoundedBody`'s limit. A body that
 * is not JSON fails with the kind its status means, or `refused` after a
 * success status: the upstream answered, but nothing usable.
 */
export const readJson = (
  call: BodyReader,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<unknown, UpstreamError> =>
  readBody(call, response).pipe(
    Effect.flatMap((bytes) =>
      Effect.try({
        try: (): unknown => JSON.parse(new TextDecoder().decode(bytes)),
        catch: () =>
          call.fail(
            `${call.name} answered ${response.status} with a body that is not JSON`,
            isSuccess(response) ? "refused" : kindOfStatus(response.status),
            response
          )
      })
    )
  )
