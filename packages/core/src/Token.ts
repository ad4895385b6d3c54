/**
 * The token model. A `Token` is what consumers hold: the access token, kept
 * `Redacted` so it never reaches a log, and the `version` the leader gave it
 * when it committed it. Versions only grow, and "newer" is a plain comparison
 * of versions.
 *
 * A version is not a KV revision: revisions start over when the tokens
 * bucket is deleted and created again, and every cache holding a token would
 * then ignore every new one for good. `nextVersion` puts a new token above
 * the versions it must follow and above the wall clock in microseconds, so a
 * leader that lost the stored state still outranks what consumers hold
 * (PROTOCOL.md, "Versions"). Since versions are the leader's clock at
 * most, one far ahead of the clock cannot be real: `isPlausibleVersion` is
 * how caches refuse a forged one that would otherwise be newest forever.
 */
import { Schema } from "effect"
import { Millis, Version } from "./Fields.ts"
import { ProviderId } from "./ProviderId.ts"

/** Why a token was minted; recorded with every committed token for audit. */
export const MintReason = Schema.Literals(["initial", "unauthorized-report", "proactive", "operator"])
export type MintReason = typeof MintReason.Type

/** What the leader stores in KV, with the token's version beside it (ProviderState.ts). */
export const TokenRecord = Schema.Struct({
  accessToken: Schema.RedactedFromValue(Schema.String),
  tokenType: Schema.String,
  issuedAt: Millis,
  /** Absent when the upstream did not say (project44 advises not to track it). */
  expiresAt: Schema.optionalKey(Millis),
  reason: MintReason
})
export type TokenRecord = typeof TokenRecord.Type

export class Token extends Schema.Class<Token>("@tokenbus/core/Token")({
  provider: ProviderId,
  version: Version,
  ...TokenRecord.fields
}) {}

/** True when `candidate` should replace `current`. */
export const isNewer = (candidate: Token, current: Token | undefined): boolean =>
  current === undefined || candidate.version > current.version

/**
 * The highest version `nextVersion` takes from the clock: room for 2^32
 * more tokens above it before a version would pass `Number.MAX_SAFE_INTEGER`
 * (a clock set past the year 2255 stops there instead).
 */
export const clockVersionCeiling = Number.MAX_SAFE_INTEGER - 2 ** 32

/**
 * The version of a token committed at `nowMillis` (wall clock): above every
 * version in `after` (the token it replaces, the newest this replica has
 * seen) and at least the time in microseconds, which keeps versions growing
 * after the stored state is lost, as long as the leader's clock is not behind
 * the one that minted the newest token consumers hold by more than the time
 * between the two mints.
 */
export const nextVersion = (after: ReadonlyArray<number | undefined>, nowMillis: number): number => {
  const fromClock = Math.min(Math.max(0, Math.floor(nowMillis)) * 1000, clockVersionCeiling)
  return after.reduce<number>((next, version) => Math.max(next, (version ?? 0) + 1), Math.max(1, fromClock))
}

/**
 * How far ahead of a cache's clock a version may be and still be adopted: a
 * day, far more than clocks kept by NTP drift apart. A cache whose clock is
 * more than that behind the leader's refuses its tokens; a forged token that
 * gets past the signature check (a consumer given no key) can hold a cache
 * for at most that long, not forever.
 */
export const versionSkewMillis = 24 * 60 * 60 * 1000

/**
 * Whether a cache whose clock reads `nowMillis` may adopt `version`: at most
 * `skewMillis` ahead of that time in microseconds, which every version
 * `nextVersion` gives is while the leader's clock is within the skew.
 */
export const isPlausibleVersion = (version: number, nowMillis: number, skewMillis = versionSkewMillis): boolean =>
  version <= (Math.max(0, nowMillis) + skewMillis) * 1000
