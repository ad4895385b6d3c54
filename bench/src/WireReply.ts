/**
 * Requests on the wire as any client sends them (PROTOCOL.md), with the reply
 * read as plain JSON: the bench measures tokenbus from outside, so it does
 * not decode with tokenbus's own schemas.
 */
import type { NatsConnection } from "@nats-io/transport-node"

export interface WireReply {
  readonly ok: boolean
  readonly token?: { readonly version: number }
  readonly error?: { readonly _tag: string; readonly message: string }
}

export const getPayload = JSON.stringify({ v: 1 })

export const reportPayload = (version: number): string => JSON.stringify({ v: 1, version })

export const parseReply = (text: string): WireReply => JSON.parse(text) as WireReply

export const request = async (
  nc: NatsConnection,
  subject: string,
  payload: string,
  timeoutMillis = 5000
): Promise<WireReply> => parseReply((await nc.request(subject, payload, { timeout: timeoutMillis })).string())

/** The token's version from a reply, or an error naming what came back instead. */
export const versionOf = (reply: WireReply): number => {
  if (reply.ok && reply.token !== undefined) return reply.token.version
  throw new Error(`expected a token, got ${JSON.stringify(reply.error ?? reply)}`)
}
