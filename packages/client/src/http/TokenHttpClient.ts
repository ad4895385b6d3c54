/**
 * Effect's `HttpClient` with a provider's bearer token, for Effect code that
 * calls the upstream through `effect/http`. Each request gets the current
 * token; a 401 is reported with that token's version and, when the report
 * returns a newer token and the request is safe to repeat (`RetryPolicy.ts`),
 * sent once more with it. A second 401, a request not safe to repeat, and a
 * report answered with the token that failed (the upstream's rate budget
 * makes the next one wait) hand the 401 back.
 *
 * `withTokens` wraps a client and keeps the token errors typed beside the
 * client's own; `layer` provides `HttpClient.HttpClient` itself, built on the
 * `HttpClient` and `TokenClient` it is given, with the token errors as the
 * `HttpClientError` that service must fail with (a `TransportError` whose
 * `cause` is the `ServiceUnavailable` or protocol error).
 */
import { isNewer, type Token } from "@tokenbus/core"
import { Effect, Layer } from "effect"
import {
  HttpClient,
  HttpClientError,
  HttpClientRequest,
  type HttpClientResponse
} from "effect/http"
import { TokenClient, type TokenClientError } from "../TokenClient.ts"
import { idempotencyKeyHeader, isResendable, mayRepeat, type RetryPolicy } from "./RetryPolicy.ts"

/**
 * `self` with `provider`'s token on every request and one retry after a
 * 401; it also fails with the token errors (`ServiceUnavailable`, the
 * protocol's errors) when no token can be had.
 */
export const withTokens = (tokens: TokenClient["Service"], provider: string, policy: RetryPolicy = {}) =>
<E, R>(self: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E | TokenClientError, R> =>
  wrap(self, { tokens, provider, policy, onTokenError: (error) => error })

/**
 * `HttpClient.HttpClient` with `provider`'s token, on the `HttpClient` and
 * the `TokenClient` it is given, e.g. with `Layer.provide(FetchHttpClient.layer)`.
 */
export const layer = (
  provider: string,
  policy: RetryPolicy = {}
): Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient | TokenClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.gen(function*() {
      const tokens = yield* TokenClient
      const client = yield* HttpClient.HttpClient
      return wrap(client, { tokens, provider, policy, onTokenError: asHttpClientError })
    })
  )

interface WrapOptions<T> {
  readonly tokens: TokenClient["Service"]
  readonly provider: string
  readonly policy: RetryPolicy
  /** What a failure to get or renew the token becomes. */
  readonly onTokenError: (error: TokenClientError, request: HttpClientRequest.HttpClientRequest) => T
}

const wrap = <E, R, T>(self: HttpClient.HttpClient.With<E, R>, options: WrapOptions<T>) =>
  HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest, E, R>) =>
      Effect.flatMap(request, (request) => execute(self, options, request)),
    self.preprocess
  )

const execute = <E, R, T>(
  self: HttpClient.HttpClient.With<E, R>,
  { onTokenError, policy, provider, tokens }: WrapOptions<T>,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<HttpClientResponse.HttpClientResponse, E | T, R> => {
  const send = (token: Token) =>
    self.postprocess(Effect.succeed(HttpClientRequest.bearerToken(request, token.accessToken)))
  const orTokenError = <A>(effect: Effect.Effect<A, TokenClientError>) =>
    Effect.mapError(effect, (error) => onTokenError(error, request))
  return Effect.gen(function*() {
    const token = yield* orTokenError(tokens.getToken(provider))
    const response = yield* send(token)
    if (response.status !== 401) return response
    const fresh = yield* orTokenError(tokens.reportUnauthorized(token))
    if (!isNewer(fresh, token) || !repeatable(request, policy)) return response
    // Read the refused answer to its end, so its connection can serve the retry.
    yield* Effect.ignore(response.arrayBuffer)
    return yield* send(fresh)
  })
}

const repeatable = (request: HttpClientRequest.HttpClientRequest, policy: RetryPolicy): boolean =>
  mayRepeat(request.method, request.headers[idempotencyKeyHeader] !== undefined, policy) &&
  resendableBody(request.body)

const resendableBody = (body: HttpClientRequest.HttpClientRequest["body"]): boolean =>
  body._tag === "Stream" ? false : body._tag === "Raw" ? isResendable(body.body) : true

const asHttpClientError = (error: TokenClientError, request: HttpClientRequest.HttpClientRequest) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.TransportError({ request, cause: error, description: error.message })
  })
