/**
 * What a provider kind contributes to tokenbus, in one value: the fields of
 * its configuration, how its secrets are read, how it mints (and what it
 * carries from one mint to the next), when its tokens are renewed by
 * default, and, for a kind whose token can change outside tokenbus, a watch
 * that tells the leader so. Each kind is one folder under `kinds/` that
 * exports one `ProviderKind`; `ProviderKinds.ts` lists them, and the config
 * decoder, the leader and the CLI read that list only.
 *
 * Only the leader ever calls `mint`. A kind that needs state between mints
 * (ItemPath's refresh token) returns it as `carry`; the leader stores it with
 * the token in KV and hands it to the next mint, so it survives failover
 * without ever leaving the service.
 */
import type { Lifecycle } from "@tokenbus/core"
import type { Effect, Redacted, Schema, Stream } from "effect"
import type { HttpClient } from "effect/http"
import type { ConfigError } from "../config/ConfigError.ts"
import type { UpstreamError } from "../upstream/UpstreamError.ts"

export interface MintedToken {
  readonly accessToken: Redacted.Redacted<string>
  readonly tokenType: string
  /** Lifetime the upstream announced, when it announced one. */
  readonly expiresInSeconds: number | undefined
  /** What the next mint will need (a refresh token...): kept in KV with the token, never broadcast. */
  readonly carry?: Redacted.Redacted<string>
}

export interface MintInput {
  /** What the previous mint left, if anything; each kind reads its own format. */
  readonly carry: Redacted.Redacted<string> | undefined
}

export interface Minter {
  /** Calls the upstream through the `HttpClient` in context: the replica's, or one a test builds. */
  readonly mint: (input: MintInput) => Effect.Effect<MintedToken, UpstreamError, HttpClient.HttpClient>
}

export type LostAnswer = "log-in-again" | "stop"

/**
 * A provider kind. `Fields` are the fields of its entry in the config file
 * (secrets still references); `Resolved` is that entry with its secrets read
 * into `Redacted` values.
 */
export interface ProviderKind<Fields extends Schema.Struct.Fields, Resolved> {
  /** The `kind` the config file names. */
  readonly name: string
  /** The kind's own fields, `id` and `kind` included; the mint policy every kind shares is added by the config. */
  readonly config: Schema.Struct<Fields>
  // Methods, not function properties: a registry of kinds of different types needs their parameters bivariant.
  /** Reads the secrets `source` refers to; `field` names the provider in errors (`providers[0]`). */
  resolve(source: Schema.Struct<Fields>["Type"], field: string): Effect.Effect<Resolved, ConfigError>
  minter(provider: Resolved): Minter
  /** When its tokens are renewed unless the provider's config says otherwise. */
  lifecycle(provider: Resolved): Lifecycle
  /**
   * What a mint does when an earlier call may have spent the carry and its
   * answer was never committed (the leader died or paused in between):
   * `log-in-again` mints without the carry; `stop` trips the breaker, with a
   * message naming the secret to renew, rather than replay a spent refresh
   * token. Absent: the kind's carry is not spent by a call, and it is passed on.
   */
  readonly lostAnswer?: LostAnswer
  /**
   * Whether its mints return a carry for KV to keep (a refresh token): the
   * service then refuses to start without a storage key to seal it with
   * (config/StorageConfig.ts). Absent: never.
   */
  carries?(provider: Resolved): boolean
  /**
   * Emits when the token changed outside tokenbus (a static token's file was
   * replaced); `held` is the token the leader holds. Absent: it never does.
   */
  watch?(provider: Resolved, held: Redacted.Redacted<string> | undefined): Stream.Stream<void>
}

/** A provider kind with its types forgotten, as the registry lists it. */
// `any`: each kind's own types are checked where the kind is defined, and only there.
export type AnyProviderKind = ProviderKind<any, any>
