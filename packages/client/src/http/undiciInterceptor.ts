/**
 * An undici interceptor that sends a provider's bearer token with every
 * request of a dispatcher: `new Agent().compose(undiciInterceptor(tokens,
 * "project44"))`, then undici's `request`, `fetch` or `stream` with that
 * dispatcher. A 401 is reported with the failed token's version; a request
 * safe to repeat (`RetryPolicy.ts`) is sent once more with the newer token,
 * and the caller sees only that second answer. With no newer token yet, a
 * second 401, or a request not safe to repeat, the caller gets the 401.
 *
 * Only a body that can be sent twice is (nothing, a string, bytes): undici's
 * `fetch` hands its dispatcher every body as a stream, so through `fetch`
 * only requests without a body are retried.
 */
import type { Dispatcher } from "undici"
import { hasHeader } from "./internal/DispatchHeaders.ts"
import { TokenDispatchHandler } from "./internal/TokenDispatchHandler.ts"
import { idempotencyKeyHeader, isResendable, mayRepeat, type RetryPolicy } from "./RetryPolicy.ts"
import type { TokenSource } from "./TokenSource.ts"

export type { RetryPolicy } from "./RetryPolicy.ts"
export type { TokenSource } from "./TokenSource.ts"

export const undiciInterceptor = (
  tokens: TokenSource,
  provider: string,
  policy: RetryPolicy = {}
): Dispatcher.DispatcherComposeInterceptor =>
(dispatch) =>
(opts, handler) => {
  const repeatable = mayRepeat(opts.method, hasHeader(opts.headers, idempotencyKeyHeader), policy) &&
    isResendable(opts.body)
  const request = new TokenDispatchHandler({ dispatch, opts, handler, tokens, repeatable })
  // A token held in memory is used at once, so the dispatcher's answer (busy or not) reaches the caller.
  const held = tokens.peek?.(provider)
  if (held !== undefined) return request.send(held)
  tokens.getToken(provider).then((token) => request.send(token), (error: unknown) => request.fail(error))
  return true
}
