/**
 * What a test holds of one client of the in-memory server (MemoryNats.ts):
 * the `NatsConnection` it gives the code under test, and the faults the test
 * injects into that client alone, so one replica can be cut off or slowed
 * down while the others carry on.
 */
import type { Effect, Layer } from "effect"
import type { BucketOptions, NatsConnection } from "../NatsConnection.ts"
import type { KvError } from "../NatsError.ts"
import type { MemoryKvBucket } from "./MemoryKvBucket.ts"

type NatsConnectionService = NatsConnection["Service"]

/** One client of the in-memory server: a `NatsConnection` plus the faults a test can inject into it. */
export interface MemoryNatsConnection extends NatsConnectionService {
  readonly name: string
  /** This connection's view of the bucket (the same one on every call), so a test can also partition KV alone. */
  readonly bucket: (name: string, options: BucketOptions) => Effect.Effect<MemoryKvBucket, KvError>
  /** Provides this connection as `NatsConnection`, so a test keeps the handle it injects faults with. */
  readonly layer: Layer.Layer<NatsConnection>
  /**
   * Cuts the client off, as a network failure would, until `reconnect`.
   * Meanwhile the server forgets its subscriptions (they get nothing, also
   * after reconnecting, and do not count as responders), what it publishes or
   * answers is lost, its requests time out, and its KV operations wait (see
   * `MemoryKvBucket.partition`); so does opening a bucket.
   */
  readonly disconnect: Effect.Effect<void>
  /**
   * Ends a `disconnect`: KV operations waiting for it go through, on every
   * view (also one partitioned alone), and `reconnects` emits, as nats.js
   * reports a reconnect once the subscriptions are back.
   */
  readonly reconnect: Effect.Effect<void>
  /**
   * Closes the connection for good, as nats.js's `close`: requests (also
   * those waiting for a reply) fail with `connection`, publishes with
   * `NatsPublishError`, KV operations with `KvError`. The scope closing does this too.
   */
  readonly close: Effect.Effect<void>
  /** Every answer this client sends with `respond` reaches the server `millis` later; 0 turns it off. */
  readonly delayReplies: (millis: number) => Effect.Effect<void>
}
