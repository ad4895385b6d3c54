/**
 * NATS refused the client's request: its NATS user may not publish to the
 * provider's subject (a consumer not allowed that provider), or may not
 * subscribe to the inbox the replies to its requests come back on. tokenbus
 * is not down, and asking again gets the same answer: the permissions of the
 * user need to change (docs/permissions.md gives each role's).
 */
import { Data } from "effect"

export class NotPermitted extends Data.TaggedError("NotPermitted")<{
  readonly provider: string
  /** What the NATS user may not do. */
  readonly operation: "publish" | "subscribe"
  /** The subject it may not do it on: the request's, or its reply inbox. */
  readonly subject: string
  readonly message: string
}> {}

/** The error for a request on `provider`'s behalf that NATS refused as `operation` on `subject`. */
export const notPermitted = (provider: string, operation: "publish" | "subscribe", subject: string): NotPermitted =>
  new NotPermitted({
    provider,
    operation,
    subject,
    message: operation === "publish"
      ? `the NATS user of this client lacks the publish permission for ${subject}, so it cannot ask tokenbus ` +
        `for ${provider}: allow it that subject (docs/permissions.md)`
      : `the NATS user of this client lacks the subscribe permission for ${subject}, where the replies to its ` +
        `requests arrive, so it cannot ask tokenbus for ${provider}: allow it its inbox prefix (docs/permissions.md)`
  })
