/**
 * The JSON payloads of the wire protocol (PROTOCOL.md). Every message carries
 * the protocol version `v`; a replica answers a version it does not speak
 * with a typed error instead of guessing, and decoders ignore fields they do
 * not know, so minor additions never break deployed clients.
 */
import { Schema } from "effect"
import { Version } from "./Fields.ts"
import { ProtocolError } from "./ProtocolError.ts"
import { MintReason } from "./Token.ts"
import { WireToken } from "./WireToken.ts"

export const protocolVersion = 1
export const supportedVersions: ReadonlyArray<number> = [protocolVersion]

const ProtocolVersion = Schema.Int

/**
 * The cluster's Ed25519 signature of the token beside it (TokenSignature.ts),
 * in standard base64. Optional: replicas without a key, and replicas from
 * before signatures, send none; a consumer given the cluster's public key
 * drops a token without one.
 */
const Signature = Schema.optionalKey(Schema.String)

/** `<prefix>.token.<provider>.get`. An empty payload means `{"v":1}`. */
export const GetTokenRequest = Schema.Struct({ v: ProtocolVersion })
export type GetTokenRequest = typeof GetTokenRequest.Type

/** `<prefix>.token.<provider>.unauthorized`: the upstream answered 401 to `version`. */
export const UnauthorizedReport = Schema.Struct({ v: ProtocolVersion, version: Version })
export type UnauthorizedReport = typeof UnauthorizedReport.Type

/** `<prefix>.leader.<provider>.mint`: a replica asks the leader for a token. */
export const MintRequestMessage = Schema.Struct({
  v: ProtocolVersion,
  reason: MintReason,
  failedVersion: Schema.optionalKey(Version)
})
export type MintRequestMessage = typeof MintRequestMessage.Type

export const TokenReplyOk = Schema.Struct({
  v: ProtocolVersion,
  ok: Schema.Literal(true),
  /** In clear, or with its access token sealed when the cluster has a bus key (WireToken.ts). */
  token: WireToken,
  signature: Signature,
  /**
   * Set when a new token is needed but the upstream's rate budget makes it
   * wait: epoch milliseconds when it is expected. Until then, `token` is the
   * best there is; the new one arrives on the updates subject.
   */
  renewalExpectedAt: Schema.optionalKey(Schema.Number)
})
export const TokenReplyError = Schema.Struct({ v: ProtocolVersion, ok: Schema.Literal(false), error: ProtocolError })

/** The reply to every request above. */
export const TokenReply = Schema.Union([TokenReplyOk, TokenReplyError])
export type TokenReply = typeof TokenReply.Type

/** `<prefix>.token.<provider>.updates`: a committed token. */
export const TokenUpdate = Schema.Struct({ v: ProtocolVersion, token: WireToken, signature: Signature })
export type TokenUpdate = typeof TokenUpdate.Type

export const TokenReplyJson = Schema.fromJsonString(TokenReply)
export const TokenUpdateJson = Schema.fromJsonString(TokenUpdate)
export const GetTokenRequestJson = Schema.fromJsonString(GetTokenRequest)
export const UnauthorizedReportJson = Schema.fromJsonString(UnauthorizedReport)
export const MintRequestJson = Schema.fromJsonString(MintRequestMessage)
