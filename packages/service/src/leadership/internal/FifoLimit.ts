/**
 * At most `permits` effects at once, the others waiting their turn in the
 * order they came. It bounds what a replica does for thousands of providers
 * at a time (takeovers, reads of the previous holder, upstream calls) where
 * thousands wait: Effect's Semaphore scans all its waiters on every release,
 * which took 15 % of a replica's CPU while it took 3,000 providers over (a
 * profile of bench scenario 7 at 10,000 providers); here a release hands its
 * permit to the next waiter in constant time.
 *
 * A waiter may be interrupted (its provider moved away) while it waits: it
 * leaves the line, and a permit handed to it as it was interrupted goes on
 * to the next.
 */
import { Deferred, Effect } from "effect"

export interface FifoLimit {
  readonly withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

interface Turn {
  readonly granted: Deferred.Deferred<void>
  abandoned: boolean
}

export const makeFifoLimit = (permits: number): Effect.Effect<FifoLimit> =>
  Effect.sync(() => {
    let active = 0
    let line: Array<Turn> = []
    let head = 0

    /** Gives the permit to the next waiter still waiting, or returns it. */
    const release = (): void => {
      while (head < line.length) {
        const next = line[head++]!
        if (head > 1024 && head * 2 > line.length) {
          line = line.slice(head)
          head = 0
        }
        if (!next.abandoned) {
          Deferred.doneUnsafe(next.granted, Effect.void)
          return
        }
      }
      active--
    }

    const acquire = Effect.suspend(() => {
      if (active < permits && head === line.length) {
        active++
        return Effect.void
      }
      const turn: Turn = { granted: Deferred.makeUnsafe<void>(), abandoned: false }
      line.push(turn)
      // Resumed by the releasing fiber, inline: yielding here keeps a line of waiters that finish at once from
      // nesting one release inside another (5,000 of them overflowed the stack).
      return Deferred.await(turn.granted).pipe(
        Effect.andThen(Effect.yieldNow),
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            // Granted as it was interrupted: the permit is this waiter's, and goes on to the next.
            if (Deferred.isDoneUnsafe(turn.granted)) release()
            else turn.abandoned = true
          })
        )
      )
    })

    return {
      withPermit: (effect) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.andThen(restore(acquire), restore(effect).pipe(Effect.ensuring(Effect.sync(release))))
        )
    }
  })
