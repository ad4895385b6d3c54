/**
 * One request to the service and what its reply means. A request that
 * times out is sent once more: the replica NATS gave it to may have been
 * killed with it, and the queue group gives the second one to a replica that
 * is alive. "No responders" (no replica subscribed at all) and a closed
 * connection are final at once. A reply's token is offered to the cache, and
 * the newest token held is the answer.
 */
import type { ProtocolError, Token, TokenCache } from "@tokenbus/core"
import { TokenReplyJson } from "@tokenbus/core"
import type { NatsConnection, NatsRequestError } from "@tokenbus/nats"
import { Effect, Schema } from "effect"
import { ServiceUnavailable } from "../ServiceUnavailable.ts"

export interface AskServiceOptions {
  readonly nats: NatsConnection["Service"]
  readonly cache: TokenCache
  readonly timeoutMillis: number
  /** Told of every provider whose token the cache keeps from a reply. */
  readonly kept: (provider: string) => void
}

const decodeReply = Schema.decodeUnknownEffect(TokenReplyJson)

const askedTwice = (error: NatsRequestError): string => (error.reason === "timeout" ? " (asked twice)" : "")

export type AskService = (
  provider: string,
  subject: string,
  payload: string
) => Effect.Effect<Token, ProtocolError | ServiceUnavailable>

export const makeAskService = ({ cache, kept, nats, timeoutMillis }: AskServiceOptions): AskService =>
(provider, subject, payload) =>
  nats.request(subject, payload, timeoutMillis).pipe(
    Effect.retry({ times: 1, while: (error) => error.reason === "timeout" }),
    Effect.mapError((error) =>
      new ServiceUnavailable({
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
    Effect.flatMap((reply): Effect.Effect<Token, ProtocolError> => {
      if (!reply.ok) return Effect.fail(reply.error)
      if (cache.offer(reply.token)) kept(reply.token.provider)
      return Effect.succeed(cache.get(provider) ?? reply.token)
    })
  )
