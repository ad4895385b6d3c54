/**
 * The wire protocol as a test or the bench sees it from outside (PROTOCOL.md):
 * the request payloads any client sends, and replies read as plain JSON, not
 * decoded with tokenbus's own schemas, so a change of the wire format breaks
 * these readers instead of being followed by them.
 */
import type { NatsConnection } from "@nats-io/transport-node"

export interface WireToken {
  readonly provider: string
  readonly version: number
  readonly accessToken: string
  readonly tokenType: string
  readonly issuedAt: number
  readonly expiresAt?: number
  readonly reason: string
}

export interface WireError {
  readonly _tag: string
  readonly message: string
  readonly [field: string]: unknown
}

export type WireReply =
  | {
    readonly v: number
    readonly ok: true
    readonly token: WireToken
    /** The cluster's signature of the token (PROTOCOL.md, "Signatures"). */
    readonly signature?: string
    readonly renewalExpectedAt?: number
  }
  | { readonly v: number; readonly ok: false; readonly error: WireError }

export const getPayload = JSON.stringify({ v: 1 })

export const reportPayload = (version: number): string => JSON.stringify({ v: 1, version })

export const parseReply = (text: string): WireReply => JSON.parse(text) as WireReply

/** A raw request on `nc`; the reply parsed as JSON. */
export const requestReply = async (
  nc: NatsConnection,
  subject: string,
  payload: string | Uint8Array,
  timeoutMillis = 5000
): Promise<WireReply> => parseReply((await nc.request(subject, payload, { timeout: timeoutMillis })).string())

/** The reply's token; throws, naming the error that came back instead, if there is none. */
export const expectToken = (reply: WireReply): WireToken => {
  if (!reply.ok) throw new Error(`expected a token, got error ${JSON.stringify(reply.error)}`)
  return reply.token
}

/** The reply's error, which must be tagged `tag` and carry a message; throws otherwise. */
export const expectError = (reply: WireReply, tag: string): WireError => {
  if (reply.ok) throw new Error(`expected a ${tag} error, got token version ${reply.token.version}`)
  if (reply.error._tag !== tag || typeof reply.error.message !== "string") {
    throw new Error(`expected a ${tag} error with a message, got ${JSON.stringify(reply.error)}`)
  }
  return reply.error
}
