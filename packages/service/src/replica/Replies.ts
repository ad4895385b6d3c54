/**
 * Encoded replies and broadcasts. A token's plain reply is encoded once and
 * kept beside the token, because answering `get` from the cache is the hot
 * path; replies that say a renewal is pending are rare and encoded each time.
 */
import {
  type ProtocolError,
  protocolVersion,
  type Token,
  TokenReplyJson,
  TokenUpdateJson
} from "@tokenbus/core"
import { Schema } from "effect"

/** What a token request is answered with. */
export interface Answer {
  readonly token: Token
  /** A new token is needed but waits for the rate budget until then (epoch ms). */
  readonly renewalExpectedAt?: number
}

const encodeReply = Schema.encodeSync(TokenReplyJson)
const encodeUpdate = Schema.encodeSync(TokenUpdateJson)
const utf8 = new TextEncoder()
/** Bytes, not a string: nats.js would encode a string again on every reply. */
const encoded = new WeakMap<Token, Uint8Array>()

export const tokenReply = (token: Token): Uint8Array => {
  let reply = encoded.get(token)
  if (reply === undefined) {
    reply = utf8.encode(encodeReply({ v: protocolVersion, ok: true, token }))
    encoded.set(token, reply)
  }
  return reply
}

export const answerReply = ({ renewalExpectedAt, token }: Answer): string | Uint8Array =>
  renewalExpectedAt === undefined
    ? tokenReply(token)
    : encodeReply({ v: protocolVersion, ok: true, token, renewalExpectedAt })

export const errorReply = (error: ProtocolError): string => encodeReply({ v: protocolVersion, ok: false, error })

export const tokenUpdate = (token: Token): string => encodeUpdate({ v: protocolVersion, token })
