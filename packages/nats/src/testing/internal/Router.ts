/**
 * The in-memory server's interest table: which subscriptions a message
 * reaches. Like nats-server, every plain subscription matching the subject
 * gets the message, and of the matching subscriptions that share a queue
 * group name (whatever subject each subscribed with) exactly one does,
 * picked at random. The server forgets a client's subscriptions while it is
 * disconnected, so those get nothing and do not count as responders.
 *
 * Routing is synchronous: `deliver` only hands the message to the
 * subscription's mailbox. Every message that reaches the server is logged for
 * tests to assert on.
 */
import type { Clock, Random } from "effect"
import { matches, type Tokens } from "./SubjectPattern.ts"

export interface Delivery {
  readonly subject: string
  /** Each subscription gets its own copy. */
  readonly data: Uint8Array
  /** "" when there is none, as nats.js reads it. */
  readonly reply: string
}

export interface Interest {
  readonly pattern: Tokens
  readonly queue: string | undefined
  /** False while the subscribing client is disconnected or closed. */
  readonly live: () => boolean
  readonly deliver: (message: Delivery) => void
}

/** A message as it reached the server. */
export interface PublishedMessage {
  readonly subject: string
  /** The payload read as UTF-8. */
  readonly payload: string
  /** "" when there is none. */
  readonly reply: string
  /** The name of the connection that sent it. */
  readonly from: string
  /** Clock time at which it reached the server. */
  readonly at: number
}

export interface Router {
  /** Adds a subscription; the function returned removes it. */
  readonly add: (interest: Interest) => () => void
  /** Hands the message to the subscriptions it reaches and returns how many those are. */
  readonly route: (from: string, subject: string, data: Uint8Array, reply: string) => number
  readonly published: (pattern: Tokens) => ReadonlyArray<PublishedMessage>
  /** How many live subscriptions match `subject`. */
  readonly interest: (subject: Tokens) => number
}

const decoder = new TextDecoder()

export const makeRouter = (clock: Clock.Clock, random: Random.Random): Router => {
  const interests = new Set<Interest>()
  const log: Array<PublishedMessage & { readonly tokens: Tokens }> = []

  const live = (subject: Tokens): Array<Interest> =>
    [...interests].filter((interest) => interest.live() && matches(interest.pattern, subject))

  const pick = <A>(members: ReadonlyArray<A>): A =>
    members[Math.min(members.length - 1, Math.floor(random.nextDoubleUnsafe() * members.length))]!

  const route = (from: string, subject: string, data: Uint8Array, reply: string): number => {
    const tokens = subject.split(".")
    log.push({ subject, tokens, payload: decoder.decode(data), reply, from, at: clock.currentTimeMillisUnsafe() })
    const receivers: Array<Interest> = []
    const groups = new Map<string, Array<Interest>>()
    for (const interest of live(tokens)) {
      if (interest.queue === undefined) receivers.push(interest)
      else groups.set(interest.queue, [...(groups.get(interest.queue) ?? []), interest])
    }
    for (const members of groups.values()) receivers.push(pick(members))
    for (const receiver of receivers) receiver.deliver({ subject, data: data.slice(), reply })
    return receivers.length
  }

  return {
    add: (interest) => {
      interests.add(interest)
      return () => void interests.delete(interest)
    },
    route,
    published: (pattern) =>
      log.filter((message) => matches(pattern, message.tokens)).map(({ tokens: _, ...message }) => message),
    interest: (subject) => live(subject).length
  }
}
