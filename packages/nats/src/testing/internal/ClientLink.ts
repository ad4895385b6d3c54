/**
 * A client's link to the in-memory server, as the parts of one connection
 * share it: whether it is connected or closed, and the inbox names it uses.
 * The server looks at `live` to decide whether the client's subscriptions
 * get anything.
 */
import { Deferred, Effect } from "effect"
import type { Router } from "./Router.ts"

export interface ClientLink {
  readonly name: string
  readonly router: Router
  /** Completed when the connection closes; it stays closed. */
  readonly closing: Deferred.Deferred<void>
  readonly closed: () => boolean
  readonly connected: () => boolean
  readonly setConnected: (connected: boolean) => void
  /** Connected and not closed: the server delivers to it. */
  readonly live: () => boolean
  /** A reply subject no other request on the server uses. */
  readonly nextInbox: () => string
}

export const makeClientLink = (router: Router, name: string, clientId: number): Effect.Effect<ClientLink> =>
  Effect.map(Deferred.make<void>(), (closing) => {
    let connected = true
    let lastInbox = 0
    const closed = () => Deferred.isDoneUnsafe(closing)
    return {
      name,
      router,
      closing,
      closed,
      connected: () => connected,
      setConnected: (now) => {
        connected = now
      },
      live: () => connected && !closed(),
      nextInbox: () => `_INBOX.${clientId}.${++lastInbox}`
    }
  })
