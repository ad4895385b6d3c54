/**
 * What a failed nats.js request means, as a `NatsRequestError` reason. A
 * permission violation must not read as an outage: the server refuses a
 * request whose subject the user may not publish to, or whose reply inbox it
 * may not subscribe to, and nats.js rejects the request with its
 * `PermissionViolationError` as the cause. Asking again gets the same answer,
 * so it is a reason of its own (`not-permitted`), naming what was denied.
 */
import { type NatsDenied, NatsRequestError } from "../NatsError.ts"

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null && key in value ? (value as Record<string, unknown>)[key] : undefined

/** The permission nats.js says was violated, at `cause` or one level below (a RequestError wraps it). */
export const deniedOf = (cause: unknown): NatsDenied | undefined => {
  for (const candidate of [cause, field(cause, "cause")]) {
    if (!(candidate instanceof Error) || candidate.name !== "PermissionViolationError") continue
    const subject = field(candidate, "subject")
    return {
      operation: field(candidate, "operation") === "subscription" ? "subscribe" : "publish",
      subject: typeof subject === "string" ? subject : ""
    }
  }
  return undefined
}

const noResponders = (cause: unknown): boolean => {
  const check = field(cause, "isNoResponders")
  return typeof check === "function" && check.call(cause) === true
}

/** What the user lacks, in words: the permission and the subject. */
const deniedText = (denied: NatsDenied): string =>
  denied.operation === "publish"
    ? `the NATS user may not publish to ${denied.subject}`
    : `the NATS user may not subscribe to ${denied.subject}, where the replies to its requests arrive`

export const requestError = (subject: string, cause: unknown): NatsRequestError => {
  const denied = deniedOf(cause)
  if (denied !== undefined) {
    return new NatsRequestError({
      subject,
      reason: "not-permitted",
      denied,
      message: `request on ${subject}: not-permitted (${deniedText(denied)}: ${messageOf(cause)})`,
      cause
    })
  }
  const name = cause instanceof Error ? cause.name : ""
  const timedOut = /timeout/i.test(name + messageOf(cause))
  const reason = noResponders(cause) ? "no-responders" : timedOut ? "timeout" : "connection"
  const message = `request on ${subject}: ${reason} (${messageOf(cause)})`
  return new NatsRequestError({ subject, reason, message, cause })
}
