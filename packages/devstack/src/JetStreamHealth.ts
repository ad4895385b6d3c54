/**
 * Waiting until a NATS server's JetStream can be used: its monitor answers
 * `/healthz?js-enabled-only=true` with 200 once JetStream is up. "Server is
 * ready" in the log comes earlier, when only the client port is known to
 * listen.
 */
import { Effect, Schedule } from "effect"
import { NatsServerError } from "./NatsServerError.ts"

const failure = (message: string) => new NatsServerError({ message })

const probe = (url: string) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      return { status: response.status, body: (await response.text()).trim() }
    },
    catch: (cause) => failure(cause instanceof Error ? cause.message : String(cause))
  }).pipe(
    Effect.flatMap(({ status, body }) => status === 200 ? Effect.void : Effect.fail(failure(`HTTP ${status}: ${body}`)))
  )

/** Polls the monitor on 127.0.0.1:`monitorPort` every 100 ms until JetStream is healthy, for up to `timeoutMillis`. */
export const waitForJetStream = (monitorPort: number, timeoutMillis = 30_000): Effect.Effect<void, NatsServerError> => {
  const url = `http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`
  return probe(url).pipe(
    Effect.retry({ schedule: Schedule.spaced("100 millis").pipe(Schedule.upTo({ duration: timeoutMillis })) }),
    Effect.mapError((last) =>
      new NatsServerError({ message: `JetStream not healthy after ${timeoutMillis} ms at ${url} (${last.message})` })
    )
  )
}
