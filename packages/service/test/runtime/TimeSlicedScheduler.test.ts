// The replica's scheduler gives the event loop back between slices: with
// hundreds of fibers each doing a millisecond of synchronous work, a 1 ms
// interval timer still fires between every few of them, where Effect's
// default scheduler runs them all in one turn of the event loop (each fiber
// has its own dispatcher, and Node runs every queued immediate in one
// phase). The figure compared is tasks between two timer turns, not time.
import { Effect, Scheduler } from "effect"
import { describe, expect, it } from "vitest"
import { defaultSliceMillis, timeSliced } from "../../src/runtime/TimeSlicedScheduler.ts"

const FIBERS = 300
const WORK_MILLIS = 1

/** The most tasks that ran between two turns of a 1 ms interval, while `FIBERS` fibers each did their work. */
const mostBetweenTimerTurns = async (run: (program: Effect.Effect<void>) => Effect.Effect<void>) => {
  let ran = 0
  let atLastTurn = 0
  let most = 0
  const work = Effect.sync(() => {
    const until = performance.now() + WORK_MILLIS
    while (performance.now() < until) {
      // synchronous work, as a takeover's
    }
    ran++
  })
  const timer = setInterval(() => {
    most = Math.max(most, ran - atLastTurn)
    atLastTurn = ran
  }, 1)
  try {
    await Effect.runPromise(run(Effect.forEach(Array.from({ length: FIBERS }), () => Effect.andThen(Effect.yieldNow, work), {
      concurrency: "unbounded",
      discard: true
    })))
  } finally {
    clearInterval(timer)
  }
  return Math.max(most, ran - atLastTurn)
}

describe("TimeSlicedScheduler", () => {
  it("lets timers fire between slices however much work is queued", async () => {
    const perSlice = defaultSliceMillis / WORK_MILLIS + 1
    expect(await mostBetweenTimerTurns(timeSliced)).toBeLessThanOrEqual(perSlice)
    // The same program on Effect's default scheduler: the baseline the slices are for.
    const mixed = (program: Effect.Effect<void>) =>
      Effect.provideService(program, Scheduler.Scheduler, new Scheduler.MixedScheduler())
    expect(await mostBetweenTimerTurns(mixed)).toBeGreaterThan(FIBERS / 2)
  })
})
