/**
 * NATS refused the client's request: its NATS user may not publish to the
 * provider's subject (a consumer not allowed that provider), may not
 * subscribe to the inbox the replies to its requests come back on, or may
 * not subscribe to the provider's updates (without which the token it holds
 * would not be kept current, and nobody told). tokenbus
 * is not down, and asking again gets the same answer: the permissions of the
 * user need to change (docs/permissions.md gives each role's).
 */
import { Data } from "effect"

export class NotPermitted extends Data.TaggedError("NotPermitted")<{
  readonly provider: string
  /** What the NATS user may not do. */
  readonly operation: "publish" | "subscribe"
  /** The subject it may not do it on: the request's, its reply inbox, or the provider's updates. */
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

/** The error for a request on `provider`'s behalf whose subscription to `subject`, its updates, NATS refused. */
export const updatesNotPermitted = (provider: string, subject: string): NotPermitted =>
  new NotPermitted({
    provider,
    operation: "subscribe",
    subject,
    message: `the NATS user of this client lacks the subscribe permission for ${subject}, where tokenbus sends ` +
      `${provider}'s new tokens, so it cannot keep ${provider}'s token current: allow it that subject ` +
      `(docs/permissions.md)`
  })
