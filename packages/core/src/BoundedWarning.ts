/**
 * A warning that a flood cannot turn into a flood of log lines: dropped
 * tokens (forged or broken updates and replies) are what an attacker on the
 * bus controls the rate of. The first drop after a quiet spell is logged at
 * once; drops within the next period are counted and logged as one line
 * when it ends, and so on while they keep coming: at most one line per
 * period, each with how many were dropped since the last and why.
 */
import { Effect, Queue, type Scope } from "effect"

/** Records one drop, from the synchronous code that saw it (a subscription's callback). */
export type RecordDrop = (reason: string, provider: string) => void

/** At most this many providers are named on one line: a flood may name any number. */
const namedProviders = 5

const summary = (counts: ReadonlyMap<string, number>): string =>
  [...counts].map(([key, count]) => `${key}=${count}`).join(" ")

/** A bounded warning with `message`, logging until the scope closes; `periodMillis` defaults to 10 s. */
export const makeBoundedWarning = (
  message: string,
  periodMillis = 10_000
): Effect.Effect<RecordDrop, never, Scope.Scope> =>
  Effect.gen(function*() {
    const wake = yield* Queue.sliding<void>(1)
    let reasons = new Map<string, number>()
    let providers = new Set<string>()

    /** Logs what was dropped since the last line; false when nothing was. */
    const flush = Effect.suspend(() => {
      const dropped = [...reasons.values()].reduce((sum, count) => sum + count, 0)
      if (dropped === 0) return Effect.succeed(false)
      const annotations = { dropped, reasons: summary(reasons), providers: [...providers].join(",") }
      reasons = new Map()
      providers = new Set()
      return Effect.logWarning(message).pipe(Effect.annotateLogs(annotations), Effect.as(true))
    })

    /** After a line, one period; then another line and period if anything was dropped meanwhile. */
    const quiet = (): Effect.Effect<void> =>
      Effect.sleep(periodMillis).pipe(
        Effect.andThen(flush),
        Effect.flatMap((logged) => (logged ? quiet() : Effect.void))
      )

    yield* Queue.take(wake).pipe(
      Effect.andThen(flush),
      Effect.flatMap((logged) => (logged ? quiet() : Effect.void)),
      Effect.forever,
      Effect.forkScoped
    )

    return (reason, provider) => {
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
      if (providers.size < namedProviders) providers.add(provider)
      Queue.offerUnsafe(wake, undefined)
    }
  })
