/**
 * An operator's mint request (`tokenbus reset`, `tokenbus rotate`) to a
 * provider's leader. While a provider is handed from one member to another
 * (a replica joined, or one was lost) nobody serves its mint subject for a
 * moment: NATS answers "no responders" at once, and the request is sent
 * again every 250 ms until the new leader answers or `millis` have passed,
 * as a replica's own questions to the leader are (replica/AskLeader.ts).
 */
import { makeSubjects, protocolVersion } from "@tokenbus/core"
import type { NatsConnection, NatsRequestError } from "@tokenbus/nats"
import { Clock, Effect } from "effect"

const request = JSON.stringify({ v: protocolVersion, reason: "operator" })

/** The leader's reply, as text. */
export const operatorMint = (
  nats: NatsConnection["Service"],
  prefix: string,
  provider: string,
  millis: number
): Effect.Effect<string, NatsRequestError> =>
  Effect.gen(function*() {
    const giveUpAt = (yield* Clock.currentTimeMillis) + millis
    const subject = makeSubjects(prefix).mint(provider)
    while (true) {
      const left = Math.max(1, giveUpAt - (yield* Clock.currentTimeMillis))
      const answer = yield* Effect.result(nats.request(subject, request, left))
      if (answer._tag === "Success") return answer.success
      if (answer.failure.reason !== "no-responders" || (yield* Clock.currentTimeMillis) + 250 >= giveUpAt) {
        return yield* answer.failure
      }
      yield* Effect.sleep(250)
    }
  })
