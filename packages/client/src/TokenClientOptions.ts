/**
 * What a client is configured with: how it talks to the service (`prefix`,
 * how long it waits for a reply) and, for a client that makes its own
 * connection, the NATS connection options, grouped under `nats` so that
 * options that concern only the connection (credentials, TLS) join them
 * there rather than mixing with the client's own.
 */
import { natsAuth, type NatsAuthInput, type NatsConnectionOptions } from "@tokenbus/nats"
import type { Redacted } from "effect"

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
  /**
   * The cluster's public key (Ed25519, PEM, as `tokenbus keygen` prints it),
   * or several while the cluster's key is being replaced. With it, the
   * client keeps only tokens the cluster signed: an update that does not
   * verify is dropped and logged, and a reply that does not verify fails the
   * request with `UntrustedToken`. Without it, the client accepts unsigned
   * tokens, so anyone who may publish on the updates subject, or answer a
   * request, can hand it a token of their own.
   */
  readonly verifyKey?: string | ReadonlyArray<string>
  /**
   * The cluster's bus keys (its configuration's `bus.keys`: each an `id` and
   * the base64 of 32 bytes, as a string or `Redacted`), for a cluster that
   * seals the access tokens it sends (PROTOCOL.md, "Sealed tokens"). Several
   * while a key rotates: a token opens with the one whose id it names. A
   * sealed token without its key fails the request with `UnsealableToken`,
   * and a sealed update without it is dropped and logged.
   */
  readonly busKeys?: ReadonlyArray<BusKeyInput> | undefined
}

/** One bus key: its id and the base64 of its 32 bytes. */
export interface BusKeyInput {
  readonly id: string
  readonly key: string | Redacted.Redacted<string>
}

/**
 * The connection of a client that connects by itself: `servers`, and
 * optionally `name` (default `tokenbus-client`), `waitOnFirstConnect`
 * (default false: fail at once with `ServiceUnavailable` when NATS cannot be
 * reached; true: wait until it can, however long that takes), and for a NATS
 * that asks, `auth` (`{ user, password }`, `{ token }`, `{ nkeySeed }` or
 * `{ creds }`, a `.creds` file's content; secrets as strings or `Redacted`)
 * and `tls` (`{ caFile?, certFile?, keyFile? }`: given, the connection is
 * TLS; certificate and key make it mutual).
 */
export type ClientNatsOptions = Omit<NatsConnectionOptions, "name" | "auth"> & {
  readonly name?: string
  readonly auth?: NatsAuthInput | undefined
}

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
  // Secrets given as strings are wrapped here, before the options go anywhere they could be printed.
  const { auth, ...rest } = nats
  return { ...rest, name: nats.name ?? "tokenbus-client", ...(auth === undefined ? {} : { auth: natsAuth(auth) }) }
}
