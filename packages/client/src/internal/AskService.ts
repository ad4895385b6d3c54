/**
 * One request to the service and what its reply means. A request that
 * times out is sent once more: the replica NATS gave it to may have been
 * killed with it, and the queue group gives the second one to a replica that
 * is alive. "No responders" (no replica subscribed at all) and a closed
 * connection are final at once, and so is a request NATS refused for want
 * of a permission (`NotPermitted`: not an outage, and asking again gets the
 * same answer). An error reply reaches the caller cut to a bounded size
 * (BoundedError.ts). A reply's token is offered to the cache, and
 * the newest token held is the answer. A reply whose token the cache drops
 * (not signed by the cluster, another provider's, a version far ahead) fails
 * the request with `UntrustedToken`: whoever sent it was not the cluster, and
 * its token must not be used. A sealed token the client has no key to open
 * fails it with `UnsealableToken`.
 */
import type { ProtocolError, RecordDrop, Token, TokenCache } from "@tokenbus/core"
import { refusalMessages, TokenReplyJson } from "@tokenbus/core"
import type { NatsConnection, NatsRequestError } from "@tokenbus/nats"
import { Effect, Schema } from "effect"
import { type NotPermitted, notPermitted } from "../NotPermitted.ts"
import { ServiceUnavailable } from "../ServiceUnavailable.ts"
import { type UnsealableToken, unsealableToken } from "../UnsealableToken.ts"
import { UntrustedToken } from "../UntrustedToken.ts"
import { boundedError } from "./BoundedError.ts"

export interface AskServiceOptions {
  readonly nats: NatsConnection["Service"]
  readonly cache: TokenCache
  readonly timeoutMillis: number
  /** Told of every provider whose token the cache keeps from a reply. */
  readonly kept: (provider: string) => void
  /** Told of every reply whose token was dropped. */
  readonly dropped: RecordDrop
}

const decodeReply = Schema.decodeUnknownEffect(TokenReplyJson)

const askedTwice = (error: NatsRequestError): string => (error.reason === "timeout" ? " (asked twice)" : "")

export type AskService = (
  provider: string,
  subject: string,
  payload: string
) => Effect.Effect<Token, ProtocolError | ServiceUnavailable | NotPermitted | UntrustedToken | UnsealableToken>

export const makeAskService = ({ cache, dropped, kept, nats, timeoutMillis }: AskServiceOptions): AskService =>
(provider, subject, payload) =>
  nats.request(subject, payload, timeoutMillis).pipe(
    Effect.retry({ times: 1, while: (error) => error.reason === "timeout" }),
    Effect.mapError((error) =>
      error.denied !== undefined
        ? notPermitted(provider, error.denied.operation, error.denied.subject)
        : new ServiceUnavailable({
          provider,
          message: `tokenbus did not answer for ${provider}${askedTwice(error)}: ${error.message}`
        })
    ),
    Effect.flatMap((text) =>
      decodeReply(text).pipe(
        Effect.mapError(() =>
          new ServiceUnavailable({ provider, message: "tokenbus sent a reply this client cannot read" })
        )
      )
    ),
    Effect.flatMap((reply): Effect.Effect<Token, ProtocolError | UntrustedToken | UnsealableToken> => {
      if (!reply.ok) return Effect.fail(boundedError(reply.error))
      const offered = cache.offerSigned(provider, reply.token, reply.signature)
      if (offered === "kept") kept(provider)
      else if (offered !== "stale") {
        dropped(offered, provider)
        if (offered === "sealed-unknown-key" || offered === "sealed-rejected") {
          return Effect.fail(unsealableToken(provider, offered, reply.token))
        }
        const message = `dropped tokenbus's reply for ${provider}: ${refusalMessages[offered]}`
        return Effect.fail(new UntrustedToken({ provider, reason: offered, message }))
      }
      // Kept or stale: the cache holds this token or a newer one, opened.
      const held = cache.get(provider)
      if (held === undefined) return Effect.die(new Error(`no token of ${provider} held after an offer`))
      return Effect.succeed(held)
    })
  )
