/**
 * A write to a provider's state that must not be dropped (a fence, a
 * commit), retried every 250 ms while KV does not take it: a bucket without
 * a stream leader takes writes again after an election, and each write
 * checks the lease's guard, so this ends when the lease does. It says so on
 * the first failure and every 5 s after, so a leader waiting here is seen.
 */
import { Effect, Schedule } from "effect"

const retryMillis = 250
const warnEvery = 20

export const retryWhileKvUnavailable = (what: string) =>
<A, E extends { readonly _tag: string; readonly message: string }, R>(
  write: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let failures = 0
    return write.pipe(
      Effect.tapError((error) =>
        error._tag !== "KvError" || failures++ % warnEvery !== 0
          ? Effect.void
          : Effect.logWarning(`${what}: KV did not take the write; trying again`).pipe(
            Effect.annotateLogs({ error: error.message, failures })
          )
      ),
      Effect.retry({ while: (error) => error._tag === "KvError", schedule: Schedule.spaced(retryMillis) })
    )
  })
