/**
 * An operator's mint request (`tokenbus reset`, `tokenbus rotate`) to a
 * provider's leader. While a provider is handed from one member to another
 * (a replica joined, or one was lost) nobody serves its mint subject for a
 * moment: NATS answers "no responders" at once, and the request is sent
 * again every 250 ms until the new leader answers or `millis` have passed
 * (RequestUntilAnswered.ts in the nats package, which a replica's own
 * questions to the leader go through too).
 */
import { makeSubjects, protocolVersion } from "@tokenbus/core"
import { type NatsConnection, type NatsRequestError, requestUntilAnswered } from "@tokenbus/nats"
import type { Effect } from "effect"

const request = JSON.stringify({ v: protocolVersion, reason: "operator" })

/** The leader's reply, as text. */
export const operatorMint = (
  nats: NatsConnection["Service"],
  prefix: string,
  provider: string,
  millis: number
): Effect.Effect<string, NatsRequestError> =>
  requestUntilAnswered(nats, makeSubjects(prefix).mint(provider), request, {
    millis,
    firstPauseMillis: 250,
    longestPauseMillis: 250
  })
