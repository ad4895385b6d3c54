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

/** What the server refused a request for: the NATS user's permissions do not allow it. */
export interface NatsDenied {
  /** `publish`: the request's subject; `subscribe`: the inbox its replies come back on. */
  readonly operation: "publish" | "subscribe"
  readonly subject: string
}

/**
 * A request that got no answer: nobody subscribed, the answer came too late,
 * the connection failed, or the server refused it (`not-permitted`: the NATS
 * user may not publish to the subject or subscribe to its reply inbox,
 * `denied` says which), which waiting or asking again does not change.
 */
export class NatsRequestError extends Data.TaggedError("NatsRequestError")<{
  readonly subject: string
  readonly reason: "no-responders" | "timeout" | "connection" | "not-permitted"
  readonly denied?: NatsDenied
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

/** The NATS micro service could not be registered (the user may not subscribe to `$SRV.>`, or NATS is gone). */
export class NatsServiceError extends Data.TaggedError("NatsServiceError")<{
  readonly service: string
  readonly message: string
  readonly cause?: unknown
}> {}
