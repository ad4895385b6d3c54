/**
 * Encoded replies and broadcasts, one `Replies` per replica, made from its
 * keys: several replicas in one process (`tokenbus dev`, tests) may serve
 * different clusters, so nothing here is the process's.
 *
 * A token's plain reply is encoded once and kept beside the token, because
 * answering `get` from the cache is the hot path; replies that say a renewal
 * is pending are rare and encoded each time. Every token sent is signed
 * with the cluster's key (core's TokenSignature.ts) and, with a bus key,
 * sealed (core's WireToken.ts, a fresh IV each time), once per token: its
 * wire form is kept beside the token too, and serves its replies and its
 * update alike. How a token goes on the wire is decided in `wireToken`
 * alone.
 */
import {
  type KeyRing,
  type ProtocolError,
  protocolVersion,
  sealingIvBytes,
  sealToken,
  type SigningKey,
  signToken,
  type Token,
  TokenReplyJson,
  TokenUpdateJson,
  type WireToken
} from "@tokenbus/core"
import { randomBytes } from "node:crypto"
import { Result, Schema } from "effect"

/** What a token request is answered with. */
export interface Answer {
  readonly token: Token
  /** A new token is needed but waits for the rate budget until then (epoch ms). */
  readonly renewalExpectedAt?: number
}

export interface RepliesOptions {
  /** Absent: tokens are sent unsigned. */
  readonly signing?: SigningKey | undefined
  /** Absent: access tokens are sent in clear; else sealed with the ring's write key. */
  readonly bus?: KeyRing | undefined
}

export interface Replies {
  /** The reply to a `get` answered with `token`, as bytes: nats.js would encode a string again on every reply. */
  readonly tokenReply: (token: Token) => Uint8Array
  readonly answerReply: (answer: Answer) => string | Uint8Array
  /** The update broadcasting `token`. */
  readonly tokenUpdate: (token: Token) => string
}

/** The token and its signature as they go on the wire, in replies and updates alike. */
interface WireForm {
  readonly token: WireToken
  readonly signature?: string
}

const encodeReply = Schema.encodeSync(TokenReplyJson)
const encodeUpdate = Schema.encodeSync(TokenUpdateJson)
const utf8 = new TextEncoder()

/** Sealing can only refuse an IV of the wrong size, and this one is drawn at the right size: a failure is a defect. */
const sealed = (ring: KeyRing, token: Token): WireToken =>
  Result.getOrThrow(sealToken(ring.write, randomBytes(sealingIvBytes), token))

/** The replies of a replica with these keys, with caches of their own. */
export const makeReplies = ({ bus, signing }: RepliesOptions = {}): Replies => {
  const wireForms = new WeakMap<Token, WireForm>()
  const encoded = new WeakMap<Token, Uint8Array>()

  /** The one place deciding a token's wire form: signed over the clear token, then sealed, when there are keys. */
  const wireToken = (token: Token): WireForm => {
    let form = wireForms.get(token)
    if (form === undefined) {
      const onWire = bus === undefined ? token : sealed(bus, token)
      form = signing === undefined ? { token: onWire } : { token: onWire, signature: signToken(signing, token) }
      wireForms.set(token, form)
    }
    return form
  }

  const tokenReply = (token: Token): Uint8Array => {
    let reply = encoded.get(token)
    if (reply === undefined) {
      reply = utf8.encode(encodeReply({ v: protocolVersion, ok: true, ...wireToken(token) }))
      encoded.set(token, reply)
    }
    return reply
  }

  return {
    tokenReply,
    answerReply: ({ renewalExpectedAt, token }) =>
      renewalExpectedAt === undefined
        ? tokenReply(token)
        : encodeReply({ v: protocolVersion, ok: true, ...wireToken(token), renewalExpectedAt }),
    tokenUpdate: (token) => encodeUpdate({ v: protocolVersion, ...wireToken(token) })
  }
}

/** An error reply: nothing of a replica's own in it. */
export const errorReply = (error: ProtocolError): string => encodeReply({ v: protocolVersion, ok: false, error })
