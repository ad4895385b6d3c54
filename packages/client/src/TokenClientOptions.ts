/**
 * What a client is configured with: how it talks to the service (`prefix`,
 * how long it waits for a reply) and, for a client that makes its own
 * connection, the NATS connection options, grouped under `nats` so that
 * options that concern only the connection (credentials, TLS) join them
 * there rather than mixing with the client's own.
 */
import type { NatsConnectionOptions } from "@tokenbus/nats"

/**
 * How long one attempt of a request waits for its reply. It must outlast
 * the service's `requestTimeoutMillis` (default 5000: how long a replica
 * waits for its leader before answering `TokenUnavailable`) by enough for
 * the replica's KV read and the network, or the client gives up just before
 * the replica's answer arrives. The rule is in PROTOCOL.md.
 */
export const defaultRequestTimeoutMillis = 7_000

export interface TokenClientOptions {
  /** The service's subject prefix (default `tokenbus`). */
  readonly prefix?: string
  /**
   * How long one attempt of a request waits for the service (default 7000
   * ms). Keep it at least 2 s above the service's `requestTimeoutMillis`. A
   * request that times out is sent once more before the client gives up.
   */
  readonly requestTimeoutMillis?: number
}

/**
 * The connection of a client that connects by itself: `servers`, and
 * optionally `name` (default `tokenbus-client`) and `waitOnFirstConnect`
 * (default false: fail at once with `ServiceUnavailable` when NATS cannot be
 * reached; true: wait until it can, however long that takes).
 */
export type ClientNatsOptions = Omit<NatsConnectionOptions, "name"> & { readonly name?: string }

/** The options before the `nats` group: `servers` and `name` beside the client's own. */
export interface FlatNatsOptions {
  /** @deprecated Use `nats: { servers }`. */
  readonly servers: ReadonlyArray<string>
  /** @deprecated Use `nats: { name }`. */
  readonly name?: string
  readonly nats?: undefined
}

export type TokenClientConnectOptions = TokenClientOptions & ({ readonly nats: ClientNatsOptions } | FlatNatsOptions)

/** The connection options to open, with the client's default name. */
export const natsOptionsOf = (options: TokenClientConnectOptions): NatsConnectionOptions => {
  const nats: ClientNatsOptions = options.nats ?? {
    servers: options.servers,
    ...(options.name === undefined ? {} : { name: options.name })
  }
  return { ...nats, name: nats.name ?? "tokenbus-client" }
}
