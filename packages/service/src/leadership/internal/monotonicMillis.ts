/**
 * The time lease deadlines, renewal times and guard checks are measured in:
 * Effect's monotonic clock (`process.hrtime` in Node), in milliseconds from
 * an arbitrary origin. A wall clock stepped by NTP or an operator would move
 * a deadline with it (forwards: a healthy leader steps down; backwards: a
 * cut-off one keeps acting past its lease), while elapsed time, which is all
 * a lease is about, does not change. `TestClock` moves it with `adjust`, and
 * never backwards.
 */
import { Clock, Effect } from "effect"

export const monotonicMillis: Effect.Effect<number> = Effect.map(
  Clock.monotonicTimeNanos,
  (nanos) => Number(nanos) / 1_000_000
)
