/**
 * Reading a request's payload on a subject anyone with publish rights can
 * send anything to. A payload longer than `maxRequestBytes` is refused
 * before it is decoded (a request is a few dozen bytes; the bound leaves
 * room for fields later versions add), a protocol version this replica does
 * not speak gets `UnsupportedProtocolVersion`, and the message of an
 * `InvalidRequest` is cut to `maxErrorMessageChars`, so a reply never
 * echoes a huge payload back.
 */
import { InvalidRequest, supportedVersions, UnsupportedProtocolVersion } from "@tokenbus/core"
import type { InboundMessage } from "@tokenbus/nats"
import { Effect, Schema } from "effect"
import { clip } from "./BoundedText.ts"

export const maxRequestBytes = 4096
export const maxErrorMessageChars = 256

export const checkVersion = (v: number): Effect.Effect<void, UnsupportedProtocolVersion> =>
  supportedVersions.includes(v) ? Effect.void : Effect.fail(
    new UnsupportedProtocolVersion({
      requested: v,
      supported: supportedVersions,
      message: `protocol version ${v} is not supported; this replica speaks ${supportedVersions.join(", ")}`
    })
  )

/**
 * A decoder of the requests `schema` reads from JSON, refusing oversized
 * payloads and unsupported versions; `what` names the request in errors.
 */
export const decodeRequest = <A extends { readonly v: number }>(schema: Schema.Codec<A, string>, what: string) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (message: InboundMessage): Effect.Effect<A, InvalidRequest | UnsupportedProtocolVersion> =>
    message.data.length > maxRequestBytes
      ? Effect.fail(
        new InvalidRequest({
          message: `${what} of ${message.data.length} bytes refused: a request is at most ${maxRequestBytes} bytes`
        })
      )
      : decode(message.string()).pipe(
        Effect.mapError((error) =>
          new InvalidRequest({ message: clip(`malformed ${what}: ${error.message}`, maxErrorMessageChars) })
        ),
        Effect.tap((request) => checkVersion(request.v))
      )
}
