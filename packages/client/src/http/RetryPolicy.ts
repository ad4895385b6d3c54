/**
 * When a request that got a 401 may be sent again with the new token. Every
 * integration (fetch, undici, axios, Effect's HttpClient) reports the 401 and
 * retries at most once, and only a request that is safe to repeat: one whose
 * method is idempotent (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT,
 * DELETE; and QUERY, safe and idempotent by its own specification), one that
 * carries an `Idempotency-Key` header (the caller says the server
 * deduplicates it), or any request once `retryNonIdempotent` is set. A body
 * that can be read only once (a stream, an iterator) is never sent twice.
 */

export interface RetryPolicy {
  /**
   * Retry POST, PATCH and other methods that are not idempotent after a 401
   * as well (default false: their 401 is reported and handed back). A 401
   * usually means the request was refused before it did anything, but only
   * the caller knows whether the upstream could have acted on it.
   */
  readonly retryNonIdempotent?: boolean
}

const idempotentMethods: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "QUERY"])

/** The header by which a caller marks a request the server deduplicates (draft-ietf-httpapi-idempotency-key-header). */
export const idempotencyKeyHeader = "idempotency-key"

/** Whether a request with `method`, with or without an `Idempotency-Key`, may be sent again after a 401. */
export const mayRepeat = (method: string, hasIdempotencyKey: boolean, policy: RetryPolicy): boolean =>
  policy.retryNonIdempotent === true || hasIdempotencyKey || idempotentMethods.has(method.toUpperCase())

/**
 * Whether `body` can be sent a second time as it is: nothing, a string,
 * bytes, a Blob, FormData or URLSearchParams. Streams and iterators are used
 * up by the first attempt.
 */
export const isResendable = (body: unknown): boolean =>
  body === undefined || body === null || typeof body === "string" || body instanceof ArrayBuffer ||
  ArrayBuffer.isView(body) || body instanceof Blob || body instanceof FormData || body instanceof URLSearchParams
