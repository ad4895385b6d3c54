/**
 * The token model. A `Token` is what consumers hold: the access token, kept
 * `Redacted` so it never reaches a log, and the `version` at which the leader
 * committed it. Versions come from the KV revision of the commit, so they only
 * grow, and "newer" is a plain comparison of versions.
 */
import { Schema } from "effect"
import { Millis, Version } from "./Fields.ts"
import { ProviderId } from "./ProviderId.ts"

/** Why a token was minted; recorded with every committed token for audit. */
export const MintReason = Schema.Literals(["initial", "unauthorized-report", "proactive", "operator"])
export type MintReason = typeof MintReason.Type

/** What the leader stores in KV; the version is the revision it is stored at. */
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

/** The newer of two tokens of one provider. */
export const newest = (a: Token, b: Token): Token => (b.version > a.version ? b : a)
