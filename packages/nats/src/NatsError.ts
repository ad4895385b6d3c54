/**
 * Typed failures of the NATS wrapper. nats.js rejects with a handful of error
 * classes; this is the one place they become values tokenbus code can match on.
 */
import { Data } from "effect"

export class NatsConnectError extends Data.TaggedError("NatsConnectError")<{
  readonly servers: ReadonlyArray<string>
  readonly message: string
  readonly cause?: unknown
}> {}

/** A request that got no answer: nobody subscribed, or the answer came too late. */
export class NatsRequestError extends Data.TaggedError("NatsRequestError")<{
  readonly subject: string
  readonly reason: "no-responders" | "timeout" | "connection"
  readonly message: string
  readonly cause?: unknown
}> {}

export class NatsPublishError extends Data.TaggedError("NatsPublishError")<{
  readonly subject: string
  readonly message: string
  readonly cause?: unknown
}> {}

/** A KV write whose expected revision no longer matched: someone else wrote first. */
export class KvConflict extends Data.TaggedError("KvConflict")<{
  readonly bucket: string
  readonly key: string
  readonly message: string
}> {}

export class KvError extends Data.TaggedError("KvError")<{
  readonly bucket: string
  readonly operation: string
  readonly message: string
  readonly cause?: unknown
}> {}
