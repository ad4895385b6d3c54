/**
 * A raw nats.js connection with the options tokenbus's own connections use
 * (packages/nats/src/NatsConnection.ts: no async stack traces, reconnect
 * forever every 250 ms), for the bench's requesters and the echo responders:
 * their side of the comparison must not differ from a replica's in how it
 * talks to NATS. Keep the two option lists in step. Drained when the scope
 * closes.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Effect, type Scope } from "effect"

export interface RawConnectionOptions {
  readonly url: string
  readonly name: string
  /** Keep trying until the server answers, as replicas do. */
  readonly waitOnFirstConnect?: boolean
}

export const acquireRawConnection = (
  options: RawConnectionOptions
): Effect.Effect<NatsConnection, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      connect({
        servers: [options.url],
        name: options.name,
        maxReconnectAttempts: -1,
        waitOnFirstConnect: options.waitOnFirstConnect ?? false,
        reconnectTimeWait: 250,
        noAsyncTraces: true
      })
    ),
    (connection) => Effect.promise(() => connection.drain().catch(() => connection.close()))
  )
