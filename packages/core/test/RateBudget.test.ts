// The rate budget is the one thing that stands between a 401 storm (or a run
// of failovers) and the upstream's 429s. The properties drive it the way the
// service does: leaders come and go, each reading the state the last one
// wrote, while TestClock moves time, and count what gets through.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { block, type BudgetState, defaultRateLimit, type RateLimit, refill, take } from "../src/RateBudget.ts"

const limit: RateLimit = { tokens: 5, windowMillis: 60_000, burst: 5 }

describe("take", () => {
  it("grants a full burst, then says when the next call may go", () => {
    let state: BudgetState | undefined
    for (let i = 0; i < 5; i++) {
      const grant = take(limit, state, 1_000)
      assert.strictEqual(grant._tag, "Granted")
      if (grant._tag === "Granted") state = grant.state
    }
    const next = take(limit, state, 1_000)
    // One call's worth refills in 60 s / 5 = 12 s.
    assert.deepStrictEqual(next, { _tag: "Wait", until: 13_000 })
    assert.strictEqual(take(limit, state, 12_999)._tag, "Wait")
    assert.strictEqual(take(limit, state, 13_000)._tag, "Granted")
  })

  it("never holds more than the burst, however long it rests", () => {
    const rested = refill(limit, { available: 0, at: 0 }, 10 * 60 * 60_000)
    assert.strictEqual(rested.available, limit.burst)
  })

  it("does not refill while this clock is behind the one that last wrote", () => {
    const state: BudgetState = { available: 0, at: 100_000 }
    assert.deepStrictEqual(refill(limit, state, 40_000), { available: 0, at: 100_000 })
    assert.deepStrictEqual(take(limit, state, 40_000), { _tag: "Wait", until: 112_000 })
  })

  it("a 429 closes the bucket until Retry-After, whatever it holds", () => {
    const blocked = block(limit, undefined, 0, 30_000)
    assert.deepStrictEqual(take(limit, blocked, 29_999), { _tag: "Wait", until: 30_000 })
    const grant = take(limit, blocked, 30_000)
    assert.strictEqual(grant._tag, "Granted")
    // Once open, the block is forgotten.
    if (grant._tag === "Granted") assert.isUndefined(grant.state.blockedUntil)
  })

  it("a later, shorter Retry-After does not shorten an earlier block", () => {
    const blocked = block(limit, block(limit, undefined, 0, 30_000), 1_000, 5_000)
    assert.strictEqual(blocked.blockedUntil, 30_000)
  })

  it("defaults to project44's documented limit", () => {
    assert.deepStrictEqual(defaultRateLimit, { tokens: 5, windowMillis: 60_000, burst: 5 })
  })
})

type Step =
  | { readonly _tag: "Advance"; readonly millis: number }
  | { readonly _tag: "Mint" }
  | { readonly _tag: "Failover"; readonly skewMillis: number }
  | { readonly _tag: "Blocked"; readonly retryAfterMillis: number }

const step = (maxSkew: number): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 20_000 }).map((millis): Step => ({ _tag: "Advance", millis })) },
    { weight: 6, arbitrary: fc.constant<Step>({ _tag: "Mint" }) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: -maxSkew, max: maxSkew }).map((skewMillis): Step => ({ _tag: "Failover", skewMillis }))
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1_000, max: 60_000 }).map((retryAfterMillis): Step => ({ _tag: "Blocked", retryAfterMillis }))
    }
  )

/**
 * Runs the steps under TestClock: each leader reads the state the previous
 * one left in "KV" and takes from it with its own (possibly skewed) clock.
 * Returns the true times (TestClock's) at which calls went upstream.
 */
const simulate = (rateLimit: RateLimit, steps: ReadonlyArray<Step>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    let stored: BudgetState | undefined
    let skew = 0
    const calls: Array<number> = []
    for (const s of steps) {
      const now = (yield* Clock.currentTimeMillis) - start
      switch (s._tag) {
        case "Advance":
          yield* TestClock.adjust(s.millis)
          break
        case "Failover":
          skew = s.skewMillis
          break
        case "Blocked":
          stored = block(rateLimit, stored, now + skew, now + skew + s.retryAfterMillis)
          break
        case "Mint": {
          const grant = take(rateLimit, stored, now + skew)
          if (grant._tag === "Granted") {
            stored = grant.state
            calls.push(now)
          }
        }
      }
    }
    return calls
  })

/** The most calls in any window of `windowMillis`. */
const busiestWindow = (calls: ReadonlyArray<number>, windowMillis: number): number => {
  let most = 0
  for (let i = 0; i < calls.length; i++) {
    let j = i
    while (j < calls.length && (calls[j] as number) - (calls[i] as number) < windowMillis) j++
    most = Math.max(most, j - i)
  }
  return most
}

/** Runs a simulation under a fresh TestClock, for fast-check's synchronous properties. */
const callsOf = (rateLimit: RateLimit, steps: ReadonlyArray<Step>) =>
  Effect.runPromise(simulate(rateLimit, steps).pipe(Effect.provide(TestClock.layer())))

describe("the budget across failovers", () => {
  it("with synchronised clocks, no window sees more than the burst plus the window's refill", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step(0), { maxLength: 120 }), async (steps) => {
        const calls = await callsOf(limit, steps)
        // A token bucket admits at most burst + tokens in any window of windowMillis.
        assert.isAtMost(busiestWindow(calls, limit.windowMillis), limit.burst + limit.tokens)
        assert.isAtMost(busiestWindow(calls, limit.windowMillis / limit.tokens), limit.burst + 1)
      }),
      { numRuns: 500 }
    )
  })

  it("with leaders' clocks up to 2 s apart, a window admits at most its refill plus the skew's", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step(2_000), { maxLength: 120 }), async (steps) => {
        const calls = await callsOf(limit, steps)
        const skewAllowance = Math.ceil((2 * 2_000 * limit.tokens) / limit.windowMillis)
        assert.isAtMost(busiestWindow(calls, limit.windowMillis), limit.burst + limit.tokens + skewAllowance)
      }),
      { numRuns: 500 }
    )
  })

  it.effect("a storm of requests over ten minutes gets the budget's worth of calls and no more", () =>
    Effect.gen(function*() {
      const steps: Array<Step> = []
      for (let second = 0; second < 600; second++) {
        steps.push({ _tag: "Mint" }, { _tag: "Mint" }, { _tag: "Advance", millis: 1_000 })
        if (second % 97 === 0) steps.push({ _tag: "Failover", skewMillis: 0 })
      }
      const calls = yield* simulate(limit, steps)
      // The burst, then one call every 12 s: 5 + 600 s / 12 s at the very most,
      // less the refill that went unused while the burst was full.
      assert.isAtMost(calls.length, 5 + 50)
      assert.isAtLeast(calls.length, 5 + 49)
    }))
})
