/**
 * An operator's mint request (`tokenbus reset`, `tokenbus rotate`) to a
 * provider's leader. While a provider is handed from one member to another
 * (a replica joined, or one was lost) nobody serves its mint subject for a
 * moment: NATS answers "no responders" at once, and the request is sent
 * again every 250 ms until the new leader answers or `millis` have passed
 * (RequestUntilAnswered.ts in the nats package, which a replica's own
 * questions to the leader go through too). Both commands print the answer
 * the same way (`operatorMintText`).
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

/** What the leader answered, as `reset` and `rotate` print it; never the token. */
export interface OperatorMintAnswer {
  readonly provider: string
  readonly version: number
  readonly previousVersion: number | null
  /** When the leader will mint, if the rate budget made it wait (the token is then broadcast when it lands). */
  readonly renewalExpectedAt: string | null
}

export const operatorMintText = (answer: OperatorMintAnswer): string =>
  answer.renewalExpectedAt === null
    ? `${answer.provider}: new token, version ${answer.version}` +
      (answer.previousVersion === null ? "" : ` (was ${answer.previousVersion})`)
    : `${answer.provider}: the rate budget is spent; the leader mints at ${answer.renewalExpectedAt} ` +
      `(current version ${answer.version}, the new one is broadcast when it lands)`
