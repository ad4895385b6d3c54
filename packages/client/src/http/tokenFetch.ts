/**
 * `fetch` with a provider's bearer token, behind `TokenClient.fetch`: a 401
 * is reported with the failed token's version, and the request is sent once
 * more with the token the report returns, if it is newer and the request is
 * safe to repeat (`RetryPolicy.ts`); otherwise the 401 is handed back. A
 * report answered with the very token that failed (the upstream's rate
 * budget makes the next one wait) hands the 401 back too: retrying with a
 * refused token would only earn another.
 */
import { isNewer, type Token } from "@tokenbus/core"
import { Effect, Redacted } from "effect"
import { FetchFailed } from "./FetchFailed.ts"
import { idempotencyKeyHeader, isResendable, mayRepeat, type RetryPolicy } from "./RetryPolicy.ts"

/** `fetch`'s own options and, for a request that is not idempotent, whether it may be retried after a 401. */
export interface TokenFetchInit extends RequestInit, RetryPolicy {}

export type TokenFetch<E> = (
  provider: string,
  input: string | URL | Request,
  init?: TokenFetchInit
) => Effect.Effect<Response, E | FetchFailed>

export const tokenFetch = <E>(
  getToken: (provider: string) => Effect.Effect<Token, E>,
  reportUnauthorized: (token: Token) => Effect.Effect<Token, E>
): TokenFetch<E> =>
  Effect.fn("TokenClient.fetch")(function*(provider: string, input: string | URL | Request, init?: TokenFetchInit) {
    const token = yield* getToken(provider)
    const request = yield* authorized(input, init, token)
    const response = yield* send(request)
    if (response.status !== 401) return response
    const fresh = yield* reportUnauthorized(token)
    if (!isNewer(fresh, token) || !repeatable(request, init)) return response
    yield* Effect.promise(() => response.body?.cancel() ?? Promise.resolve())
    return yield* send(yield* authorized(input, init, fresh))
  })

const repeatable = (request: Request, init: TokenFetchInit | undefined): boolean =>
  mayRepeat(request.method, request.headers.has(idempotencyKeyHeader), init ?? {}) && isResendable(init?.body)

/** A new `Request` for each attempt: a `Request` given as input is cloned, so its body can be sent again. */
const authorized = (input: string | URL | Request, init: TokenFetchInit | undefined, token: Token) =>
  Effect.try({
    try: () => {
      const request = new Request(input instanceof Request ? input.clone() : input, init)
      request.headers.set("authorization", `Bearer ${Redacted.value(token.accessToken)}`)
      return request
    },
    catch: (cause) => new FetchFailed({ url: urlOf(input), message: (cause as Error).message })
  })

const send = (request: Request) =>
  Effect.tryPromise({
    // The caller's own signal still counts beside the fiber's.
    try: (signal) => fetch(request, { signal: AbortSignal.any([signal, request.signal]) }),
    catch: (cause) => new FetchFailed({ url: request.url, message: (cause as Error).message })
  })

const urlOf = (input: string | URL | Request): string =>
  typeof input === "string" ? input : input instanceof URL ? input.href : input.url
