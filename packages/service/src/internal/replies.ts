/**
 * Encoded replies and broadcasts. A token's reply is encoded once and kept
 * beside the token, because answering `get` from the cache is the hot path.
 */
import {
  type ProtocolError,
  protocolVersion,
  type Token,
  TokenReplyJson,
  TokenUpdateJson
} from "@tokenbus/core"
import { Schema } from "effect"

const encodeReply = Schema.encodeSync(TokenReplyJson)
const encodeUpdate = Schema.encodeSync(TokenUpdateJson)
const encoded = new WeakMap<Token, string>()

export const tokenReply = (token: Token): string => {
  let reply = encoded.get(token)
  if (reply === undefined) {
    reply = encodeReply({ v: protocolVersion, ok: true, token })
    encoded.set(token, reply)
  }
  return reply
}

export const errorReply = (error: ProtocolError): string => encodeReply({ v: protocolVersion, ok: false, error })

export const tokenUpdate = (token: Token): string => encodeUpdate({ v: protocolVersion, token })
