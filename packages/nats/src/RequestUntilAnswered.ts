/**
 * A request to a subject whose responder may be changing hands: while nobody
 * serves it, NATS answers "no responders" at once, and the request is sent
 * again after a pause that doubles from `firstPauseMillis` up to
 * `longestPauseMillis`. With `attemptMillis`, an attempt that gets no answer
 * in that time is sent again too (a responder that died holding the request
 * never answers it). It gives up with the last error when `millis` have
 * passed, and at once on a lost connection or a permission refused.
 */
import { Clock, Effect } from "effect"
import type { NatsConnection } from "./NatsConnection.ts"
import type { NatsRequestError } from "./NatsError.ts"

export interface RequestUntilAnsweredOptions {
  /** How long to keep asking, in all. */
  readonly millis: number
  /** How long one attempt waits for its answer; the whole of what is left when absent. */
  readonly attemptMillis?: number
  readonly firstPauseMillis: number
  readonly longestPauseMillis: number
}

/** The reply's text, or the error of the last attempt. */
export const requestUntilAnswered = (
  nats: NatsConnection["Service"],
  subject: string,
  payload: string,
  options: RequestUntilAnsweredOptions
): Effect.Effect<string, NatsRequestError> =>
  Effect.gen(function*() {
    const giveUpAt = (yield* Clock.currentTimeMillis) + options.millis
    let pause = options.firstPauseMillis
    while (true) {
      const left = Math.max(1, giveUpAt - (yield* Clock.currentTimeMillis))
      const answer = yield* Effect.result(nats.request(subject, payload, Math.min(left, options.attemptMillis ?? left)))
      if (answer._tag === "Success") return answer.success
      const { reason } = answer.failure
      const retried = reason === "no-responders" || (reason === "timeout" && options.attemptMillis !== undefined)
      const now = yield* Clock.currentTimeMillis
      const wait = reason === "no-responders" ? pause : 0
      if (!retried || now + wait >= giveUpAt) return yield* answer.failure
      if (wait > 0) yield* Effect.sleep(wait)
      if (reason === "no-responders") pause = Math.min(pause * 2, options.longestPauseMillis)
    }
  })
