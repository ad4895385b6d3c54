/**
 * A failed call to a provider's token endpoint. `status` is the HTTP status
 * when there was one; `retryAfterMillis` carries a 429's `Retry-After`. The
 * message never contains the credentials or a token.
 */
import { Data } from "effect"

export class UpstreamError extends Data.TaggedError("UpstreamError")<{
  readonly provider: string
  readonly message: string
  readonly status?: number
  readonly retryAfterMillis?: number
}> {}
