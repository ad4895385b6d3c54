/**
 * A warning that a flood cannot turn into a flood of log lines: what an
 * attacker controls the rate of (forged tokens dropped by a consumer or a
 * replica, bad requests refused by a replica) is logged at a rate the code
 * sets. Events come in kinds (a handful: the refusal's endpoint and error,
 * or one kind for every dropped token); the first event of a kind after a
 * quiet spell is logged at once, the next ones within a period of that line
 * are folded into one line at the end of the period, and so on while they
 * keep coming: at most one line per kind and period, and the lines account
 * for every event. Kinds do not hold each other up.
 *
 * An event is recorded from Effect code (`record`, whose line at once is
 * written by the caller's fiber) or from synchronous code such as a
 * subscription's callback (`recordUnsafe`, whose line at once is written by
 * a fiber of its own, with what else was recorded before it ran: a burst is
 * one line). `makeBoundedWarning` is the form for dropped tokens: one kind,
 * a line counting the drops by reason and naming a few providers.
 */
import { Clock, Effect, type Scope } from "effect"

/** What the lines of a bounded warning say, made from the events they stand for. */
export interface WarningLines<A, S> {
  /** Between two lines of a kind, at least. */
  readonly periodMillis: number
  /** Folds one more event into what the next line says (`undefined`: the first since the last line). */
  readonly add: (content: S | undefined, event: A) => S
  /** Writes a line; `held` is how many of its events had no line of their own (0 for a line `record` wrote at once). */
  readonly write: (content: S, held: number) => Effect.Effect<void>
}

export interface BoundedWarning<A> {
  /** Logs `event` now, or folds it into the line that ends its kind's period. */
  readonly record: (kind: string, event: A) => Effect.Effect<void>
  /** As `record`, from synchronous code: the lines are written by fibers of their own. */
  readonly recordUnsafe: (kind: string, event: A) => void
}

interface Kind<S> {
  lastLineAt: number
  /** Events since the last line that had no line of their own, and what the next line says of them. */
  held: number
  content: S | undefined
  /** A line for the held events is scheduled. */
  due: boolean
}

/** A bounded warning whose end-of-period lines run in the caller's scope (they stop with it). */
export const boundedWarning = <A, S>(lines: WarningLines<A, S>): Effect.Effect<BoundedWarning<A>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const clock = yield* Clock.clockWith(Effect.succeed)
    const run = Effect.runForkWith(yield* Effect.context<never>())
    const kinds = new Map<string, Kind<S>>()

    /** Writes the line of the held events, if any, which starts the kind's next period. */
    const flush = (kind: Kind<S>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const { content, held } = kind
        kind.lastLineAt = now
        kind.held = 0
        kind.content = undefined
        kind.due = false
        return content === undefined ? Effect.void : lines.write(content, held)
      })

    const scheduled = (kind: Kind<S>, waitMillis: number) =>
      Effect.sleep(waitMillis).pipe(Effect.andThen(flush(kind)), Effect.forkIn(scope), Effect.asVoid)

    /**
     * Records `event` at `now`; what is left to run: a line, or the scheduling
     * of one. The first event of a kind is a line at once, written now in the
     * caller's fiber (`inFiber`), else by a fiber that also takes in whatever
     * the synchronous caller records before it runs (a burst of drops is one line).
     */
    const step = (key: string, event: A, now: number, inFiber: boolean): Effect.Effect<void> | undefined => {
      const kind = kinds.get(key)
      if (kind === undefined || (!kind.due && now - kind.lastLineAt >= lines.periodMillis)) {
        if (inFiber) {
          kinds.set(key, { lastLineAt: now, held: 0, content: undefined, due: false })
          return lines.write(lines.add(undefined, event), 0)
        }
        const first: Kind<S> = { lastLineAt: now, held: 1, content: lines.add(undefined, event), due: true }
        kinds.set(key, first)
        return flush(first).pipe(Effect.forkIn(scope), Effect.asVoid)
      }
      kind.held += 1
      kind.content = lines.add(kind.content, event)
      if (kind.due) return undefined
      kind.due = true
      return scheduled(kind, kind.lastLineAt + lines.periodMillis - now)
    }

    const record = (key: string, event: A): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => step(key, event, now, true) ?? Effect.void)

    const recordUnsafe = (key: string, event: A): void => {
      const next = step(key, event, clock.currentTimeMillisUnsafe(), false)
      if (next !== undefined) run(next)
    }

    return { record, recordUnsafe } satisfies BoundedWarning<A>
  })

/** Records one drop, from the synchronous code that saw it (a subscription's callback). */
export type RecordDrop = (reason: string, provider: string) => void

/** At most this many providers are named on one line: a flood may name any number. */
const namedProviders = 5

interface Drops {
  readonly reasons: Map<string, number>
  readonly providers: Set<string>
}

const addDrop = (drops: Drops | undefined, drop: { readonly reason: string; readonly provider: string }): Drops => {
  const { providers, reasons } = drops ?? { reasons: new Map(), providers: new Set() }
  reasons.set(drop.reason, (reasons.get(drop.reason) ?? 0) + 1)
  if (providers.size < namedProviders) providers.add(drop.provider)
  return { reasons, providers }
}

const summary = (counts: ReadonlyMap<string, number>): string =>
  [...counts].map(([key, count]) => `${key}=${count}`).join(" ")

/**
 * The warning `message` for dropped tokens, logging until the scope closes;
 * each line says how many were dropped since the last (`dropped`, the first
 * line's own included) and why. `periodMillis` defaults to 10 s.
 */
export const makeBoundedWarning = (
  message: string,
  periodMillis = 10_000
): Effect.Effect<RecordDrop, never, Scope.Scope> =>
  Effect.map(
    boundedWarning({
      periodMillis,
      add: addDrop,
      write: ({ providers, reasons }) => {
        const dropped = [...reasons.values()].reduce((sum, count) => sum + count, 0)
        const annotations = { dropped, reasons: summary(reasons), providers: [...providers].join(",") }
        return Effect.logWarning(message).pipe(Effect.annotateLogs(annotations))
      }
    }),
    (warning): RecordDrop => (reason, provider) => warning.recordUnsafe("dropped", { reason, provider })
  )
