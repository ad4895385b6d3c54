/**
 * A NATS micro service (the `$SRV` discovery protocol of `@nats-io/services`)
 * as tokenbus registers one: a name, a version, metadata and a few
 * endpoints, each answered synchronously from memory. Registered, it answers
 * `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` (also with its name, and with its
 * name and id), so `nats micro ls` and any `$SRV` client list every process
 * that registered and its endpoints. The shapes here are tokenbus's own, so
 * nothing outside this package sees nats.js types.
 */

/** What an endpoint's handler is told of a request. */
export interface MicroRequest {
  readonly subject: string
  readonly data: Uint8Array
}

export interface MicroEndpoint {
  /** The name `$SRV.INFO` lists. */
  readonly name: string
  readonly subject: string
  /** Absent: the framework's default queue group, so one process of the service answers each request. */
  readonly queue?: string | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
  /** The reply, computed at once: an endpoint for discovery must not wait on anything. */
  readonly handle: (request: MicroRequest) => string
}

export interface MicroServiceOptions {
  readonly name: string
  /** Semantic version, as the protocol requires. */
  readonly version: string
  readonly description: string
  readonly metadata: Readonly<Record<string, string>>
  readonly endpoints: ReadonlyArray<MicroEndpoint>
}
