/**
 * Errors that cross NATS in replies. They are schema-tagged so any client can
 * decode them from JSON and tell them apart by `_tag`; each carries a message
 * written for the person reading the client's log.
 */
import { Schema } from "effect"

export class ProviderNotFound extends Schema.TaggedError<ProviderNotFound>()("ProviderNotFound", {
  provider: Schema.String,
  message: Schema.String
}) {}

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String
}) {}

export class UnsupportedProtocolVersion extends Schema.TaggedError<UnsupportedProtocolVersion>()(
  "UnsupportedProtocolVersion",
  {
    requested: Schema.Number,
    supported: Schema.Array(Schema.Int),
    message: Schema.String
  }
) {}

/** No token could be had in time: no leader yet, or the upstream failed. */
export class TokenUnavailable extends Schema.TaggedError<TokenUnavailable>()("TokenUnavailable", {
  provider: Schema.String,
  message: Schema.String
}) {}

/**
 * The upstream refused the provider's credentials (or refused every token
 * minted with them at once): tokenbus stops minting until its configuration
 * or secret changes, or an operator forces a retry.
 */
export class CredentialsRejected extends Schema.TaggedError<CredentialsRejected>()("CredentialsRejected", {
  provider: Schema.String,
  since: Schema.Number,
  message: Schema.String
}) {}

export const ProtocolError = Schema.Union([
  ProviderNotFound,
  InvalidRequest,
  UnsupportedProtocolVersion,
  TokenUnavailable,
  CredentialsRejected
])
export type ProtocolError = typeof ProtocolError.Type
