/**
 * Text the sender of a request chose (a subject, a provider id, what a
 * decoder says of its payload), cut to a bounded length before it goes into
 * a log line or a reply, so neither grows with what an attacker sends.
 */

/** `text` if it has at most `maxChars` characters, else its first `maxChars` and an ellipsis. */
export const clip = (text: string, maxChars: number): string =>
  text.length <= maxChars ? text : `${text.slice(0, maxChars)}…`
