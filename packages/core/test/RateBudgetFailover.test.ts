// The rate budget is what stands between a 401 storm (or a run of failovers)
// and the upstream's 429s. These properties drive the real `take` and `block`
// the way the service does, the state passing through its JSON codec as it
// does through KV at each failover, and hold the granted call times to the
// limit itself: never more than `tokens` in any span of `windowMillis`, nor
// more than `burst` in any `windowMillis / tokens`, nor any inside a 429's block.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import {
  block,
  type BudgetState,
  type BudgetWindow,
  defaultRateLimit,
  type RateLimit,
  take
} from "../src/RateBudget.ts"
import { throughKv } from "./support/BudgetDriver.ts"
import { busiestSpan, callsIn } from "./support/busiestSpan.ts"

const limit = defaultRateLimit

const anyLimit: fc.Arbitrary<RateLimit> = fc.record({
  tokens: fc.integer({ min: 1, max: 8 }),
  windowMillis: fc.integer({ min: 1, max: 100_000 }),
  burst: fc.integer({ min: 1, max: 10 })
}, { requiredKeys: ["tokens", "windowMillis"] })

type Step =
  | { readonly _tag: "Take" }
  | { readonly _tag: "Advance"; readonly fraction: number }
  | { readonly _tag: "Failover" }
  | { readonly _tag: "Block"; readonly fraction: number }
  /** The clock jumps by a fraction of the window, backwards too. */
  | { readonly _tag: "Jump"; readonly fraction: number }

const stepArb = (jumps: boolean): fc.Arbitrary<Step> => {
  const fraction = fc.double({ min: 0, max: 1.5, noNaN: true })
  const steps: Array<fc.WeightedArbitrary<Step>> = [
    { weight: 6, arbitrary: fc.constant<Step>({ _tag: "Take" }) },
    { weight: 4, arbitrary: fraction.map((f): Step => ({ _tag: "Advance", fraction: f / 4 })) },
    { weight: 2, arbitrary: fc.constant<Step>({ _tag: "Failover" }) },
    { weight: 1, arbitrary: fraction.map((f): Step => ({ _tag: "Block", fraction: f })) }
  ]
  const jump = fc.double({ min: -2, max: 2, noNaN: true }).map((f): Step => ({ _tag: "Jump", fraction: f }))
  return fc.oneof(...steps, ...(jumps ? [{ weight: 2, arbitrary: jump }] : []))
}

interface Run {
  /** Each granted call, timed by the latest clock reading any writer of the state had used. */
  readonly granted: Array<number>
  /** Each 429's block: the calls granted before it, and the moment it ends, on the same clock. */
  readonly blocks: Array<{ readonly after: number; readonly until: number }>
  /** Takes refused on a clock not behind the latest writer's: when, and how many calls and blocks came before. */
  readonly refused: Array<{ readonly at: number; readonly granted: number; readonly blocks: number }>
}

/** Plays the steps against the real take and block, checking each answer as it comes. */
const play = (rateLimit: RateLimit, steps: ReadonlyArray<Step>): Run => {
  const run: Run = { granted: [], blocks: [], refused: [] }
  const W = rateLimit.windowMillis
  let now = 1_700_000_000_000
  let latestWrite = -Infinity
  let stored: BudgetState | undefined
  const write = (state: BudgetWindow) => {
    stored = state
    latestWrite = Math.max(latestWrite, now)
    assert.isAtMost(state.calls.length, rateLimit.tokens, "the state keeps more calls than a window can hold")
    for (const call of state.calls) assert.isAbove(call, state.at - W, "the state keeps a call outside the window")
  }
  for (const step of steps) {
    if (step._tag === "Advance") now += Math.round(step.fraction * W)
    else if (step._tag === "Jump") now = Math.max(0, now + Math.round(step.fraction * W))
    else if (step._tag === "Failover") stored = throughKv(stored)
    else if (step._tag === "Block") {
      const until = now + Math.round(step.fraction * W)
      write(block(rateLimit, stored, now, until))
      run.blocks.push({ after: run.granted.length, until: latestWrite + until - now })
    } else {
      const grant = take(rateLimit, stored, now)
      // A clock behind the latest writer's is answered as if it read the writer's time.
      if (now < latestWrite) assert.deepStrictEqual(grant, take(rateLimit, stored, latestWrite))
      if (grant._tag === "Granted") {
        write(grant.state)
        run.granted.push(latestWrite)
      } else {
        assert.isAbove(grant.until, now, "a Wait until a moment that has come")
        assert.strictEqual(take(rateLimit, stored, grant.until)._tag, "Granted", "refused at its own until")
        assert.strictEqual(take(rateLimit, stored, grant.until - 1)._tag, "Wait", "until is not the earliest moment")
        if (now >= latestWrite) run.refused.push({ at: now, granted: run.granted.length, blocks: run.blocks.length })
      }
    }
  }
  return run
}

/** Whether a refused take would have broken the limit, given the calls and blocks before it. */
const wouldBreak = (rateLimit: RateLimit, run: Run, refused: Run["refused"][number]): boolean => {
  const { at } = refused
  const W = rateLimit.windowMillis
  const burst = Math.min(rateLimit.burst ?? rateLimit.tokens, rateLimit.tokens)
  const earlier = run.granted.slice(0, refused.granted)
  return callsIn(earlier, at - W + 1, W) >= rateLimit.tokens ||
    earlier.filter((call) => at - call < W / rateLimit.tokens).length >= burst ||
    run.blocks.slice(0, refused.blocks).some(({ until }) => at < until)
}

const assertWithinLimit = (rateLimit: RateLimit, run: Run) => {
  const burst = Math.min(rateLimit.burst ?? rateLimit.tokens, rateLimit.tokens)
  assert.isAtMost(busiestSpan(run.granted, rateLimit.windowMillis), rateLimit.tokens, JSON.stringify(run.granted))
  assert.isAtMost(busiestSpan(run.granted, rateLimit.windowMillis / rateLimit.tokens), burst)
  for (const { after, until } of run.blocks) {
    const inside = run.granted.slice(after).filter((call) => call < until)
    assert.deepStrictEqual(inside, [], `calls granted during a block until ${until}`)
  }
}

describe("the budget across failovers", () => {
  it("on one clock, grants exactly the calls that keep within the window, the burst and the blocks", () => {
    fc.assert(
      fc.property(anyLimit, fc.array(stepArb(false), { maxLength: 150 }), (rateLimit, steps) => {
        const run = play(rateLimit, steps)
        assertWithinLimit(rateLimit, run)
        // And it refuses nothing the limit would have allowed.
        for (const refused of run.refused) {
          assert.isTrue(wouldBreak(rateLimit, run, refused), `refused at ${refused.at}`)
        }
      }),
      { numRuns: 1_000 }
    )
  })

  it("with the clock stepping back and forth, never more than the limit on the latest clock any leader used", () => {
    fc.assert(
      fc.property(anyLimit, fc.array(stepArb(true), { maxLength: 150 }), (rateLimit, steps) => {
        assertWithinLimit(rateLimit, play(rateLimit, steps))
      }),
      { numRuns: 1_000 }
    )
  })

  it("time only helps: a take refused at some moment is refused at every earlier one", () => {
    fc.assert(fc.property(
      anyLimit,
      fc.array(stepArb(true), { maxLength: 60 }),
      fc.integer({ min: -200_000, max: 200_000 }),
      fc.nat(200_000),
      (rateLimit, steps, offset, earlier) => {
        let state: BudgetState | undefined
        let now = 500_000
        for (const step of steps) {
          if (step._tag === "Jump" || step._tag === "Advance") now = Math.max(0, now + Math.round(step.fraction * 1e4))
          const grant = step._tag === "Take" ? take(rateLimit, state, now) : undefined
          if (grant?._tag === "Granted") state = grant.state
          if (step._tag === "Block") state = block(rateLimit, state, now, now + step.fraction * 1e4)
        }
        const later = Math.max(0, now + offset)
        if (take(rateLimit, state, later)._tag === "Wait") {
          assert.strictEqual(take(rateLimit, state, Math.max(0, later - earlier))._tag, "Wait")
        }
      }
    ))
  })

  it.effect("a leader that always wants a token gets five a minute for ten minutes, through failovers", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const calls: Array<number> = []
      const leader = Effect.gen(function*() {
        let stored: BudgetState | undefined
        for (let n = 0;; n++) {
          const now = yield* Clock.currentTimeMillis
          const grant = take(limit, n % 7 === 0 ? throughKv(stored) : stored, now)
          if (grant._tag === "Granted") {
            stored = grant.state
            calls.push(now - start)
          } else {
            assert.isAbove(grant.until, now)
            yield* Effect.sleep(grant.until - now)
          }
        }
      })
      const fiber = yield* Effect.forkChild(leader)
      yield* TestClock.adjust(10 * 60_000 - 1)
      yield* Fiber.interrupt(fiber)
      // Five at once at the start of each minute, and not one more.
      assert.strictEqual(calls.length, 50)
      assert.deepStrictEqual([...new Set(calls)], Array.from({ length: 10 }, (_, minute) => minute * 60_000))
      assert.strictEqual(busiestSpan(calls, 60_000), 5)
    }))
})
