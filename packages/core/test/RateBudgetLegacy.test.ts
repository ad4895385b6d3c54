// States written to KV by earlier versions, whose budget was a token bucket
// (`available` calls at `at`): this version must read them, and must not let
// a window hold more calls than the limit because it read one. The property
// produces such states the way those versions did (their bucket, below, is
// the generator of the input, not the code under test) and checks the calls
// of both versions together.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Schema } from "effect"
import { ProviderStateJson } from "../src/ProviderState.ts"
import { type BudgetState, defaultRateLimit, type LegacyBudget, type RateLimit, take } from "../src/RateBudget.ts"
import { BudgetJson, takeAll } from "./support/BudgetDriver.ts"
import { callsIn } from "./support/busiestSpan.ts"

const limit = defaultRateLimit
const readOld = (json: string) => Schema.decodeUnknownSync(BudgetJson)(json)

describe("a budget written by the token-bucket version", () => {
  it("decodes, alone and inside the provider's state", () => {
    assert.deepStrictEqual(readOld(`{"available":2.5,"at":1000}`), { available: 2.5, at: 1000 })
    assert.deepStrictEqual(readOld(`{"available":0,"at":1000,"blockedUntil":9000}`), {
      available: 0,
      at: 1000,
      blockedUntil: 9000
    })
    const json = `{"budget":{"available":1,"at":5},"fence":{"holder":"r1","term":3}}`
    const state = Schema.decodeUnknownSync(ProviderStateJson)(json)
    assert.deepStrictEqual(state.budget, { available: 1, at: 5 })
  })

  // With the default limit (burst 5, one call refilled every 12 s), a bucket
  // with `available` left at `at` may have let through 5 - available calls at
  // `at`, and one more every 12 s before that.
  it("an empty bucket may hide five calls at its time: nothing until a minute later", () => {
    const empty = readOld(`{"available":0,"at":100000}`)
    assert.deepStrictEqual(take(limit, empty, 100_000), { _tag: "Wait", until: 160_000 })
    // 0.4 left: four at its time, and a fifth 0.4 of a refill (4.8 s) before it.
    const almost = readOld(`{"available":0.4,"at":100000}`)
    assert.deepStrictEqual(take(limit, almost, 100_000), { _tag: "Wait", until: 155_200 })
  })

  it("one call spent from a full bucket may also hide four 12 s apart before it", () => {
    // Calls at 100 000, 88 000, 76 000, 64 000 and 52 000: the next fits at 112 000.
    const one = readOld(`{"available":4,"at":100000}`)
    assert.deepStrictEqual(take(limit, one, 100_000), { _tag: "Wait", until: 112_000 })
  })

  it("a half-spent bucket: calls at its time and from 6 s before it, 12 s apart", () => {
    // 2.5 unrefilled: two calls at 100 000, then 94 000, 82 000 and 70 000.
    const old = readOld(`{"available":2.5,"at":100000}`)
    assert.deepStrictEqual(take(limit, old, 100_000), { _tag: "Wait", until: 130_000 })
    const next = takeAll(limit, old, 130_000, 1)
    assert.deepStrictEqual(take(limit, next, 130_000), { _tag: "Wait", until: 142_000 })
  })

  it("a full bucket grants one call at once, then counts the four it may hide", () => {
    const old = readOld(`{"available":5,"at":100000}`)
    assert.deepStrictEqual(take(limit, takeAll(limit, old, 100_000, 1), 100_000), { _tag: "Wait", until: 112_000 })
  })

  it("a bucket last written a window ago or more grants the whole budget, and keeps its block", () => {
    takeAll(limit, readOld(`{"available":0,"at":100000}`), 160_000, 5)
    const blocked = readOld(`{"available":5,"at":0,"blockedUntil":200000}`)
    assert.deepStrictEqual(take(limit, blocked, 100_000), { _tag: "Wait", until: 200_000 })
    takeAll(limit, blocked, 200_000, 5)
  })

  it("is written back in this version's form, within the limit's size", () => {
    const written = takeAll(limit, readOld(`{"available":5,"at":100000}`), 100_000, 1)
    const json = JSON.parse(Schema.encodeSync(BudgetJson)(written))
    assert.notProperty(json, "available")
    assert.isAtMost(json.calls.length, limit.tokens)
  })
})

/** What the token-bucket version wrote after its last granted call, and every call it granted. */
const oldVersion = (rateLimit: RateLimit, attempts: ReadonlyArray<number>) => {
  const burst = rateLimit.burst ?? rateLimit.tokens
  let written: LegacyBudget | undefined
  const calls: Array<number> = []
  for (const now of attempts) {
    const last = written ?? { available: burst, at: now }
    const refill = (Math.max(0, now - last.at) * rateLimit.tokens) / rateLimit.windowMillis
    const refilled = Math.min(burst, last.available + refill)
    if (refilled < 1) continue
    written = { available: refilled - 1, at: Math.max(now, last.at) }
    calls.push(now)
  }
  return { written, calls }
}

const times = (start: number, gaps: ReadonlyArray<number>) => {
  let now = start
  return gaps.map((gap) => (now += gap))
}

describe("the change of version", () => {
  const oldLimit: fc.Arbitrary<RateLimit> = fc.record({
    tokens: fc.integer({ min: 1, max: 8 }),
    windowMillis: fc.integer({ min: 1_000, max: 100_000 }),
    burst: fc.integer({ min: 1, max: 10 })
  })
  const gaps = (rateLimit: RateLimit) =>
    fc.array(fc.integer({ min: 0, max: Math.ceil(rateLimit.windowMillis / 3) }), { minLength: 1, maxLength: 40 })
  const scenario = oldLimit.chain((rateLimit) => fc.tuple(fc.constant(rateLimit), gaps(rateLimit), gaps(rateLimit)))

  it("adds no call to a window beyond the limit, nor to one the old version had already filled", () => {
    fc.assert(
      fc.property(scenario, ([rateLimit, oldGaps, newGaps]) => {
        const old = oldVersion(rateLimit, times(1_700_000_000_000, oldGaps))
        if (old.written === undefined) return
        let state: BudgetState = readOld(JSON.stringify(old.written))
        const granted: Array<number> = []
        for (const now of times(old.written.at, newGaps)) {
          const grant = take(rateLimit, state, now)
          if (grant._tag === "Granted") {
            state = grant.state
            granted.push(now)
          }
        }
        const all = [...old.calls, ...granted]
        const W = rateLimit.windowMillis
        for (const from of all.flatMap((call) => [call + 1, call - W + 1])) {
          const allowed = Math.max(rateLimit.tokens, callsIn(old.calls, from, W))
          assert.isAtMost(callsIn(all, from, W), allowed, `window from ${from}: ${JSON.stringify({ old, granted })}`)
        }
      }),
      { numRuns: 2_000 }
    )
  })

  it("frees the whole budget one window after the old version's last write", () => {
    fc.assert(fc.property(scenario, ([rateLimit, oldGaps]) => {
      const old = oldVersion(rateLimit, times(0, oldGaps))
      if (old.written === undefined) return
      const atOnce = Math.min(rateLimit.burst ?? rateLimit.tokens, rateLimit.tokens)
      takeAll(rateLimit, readOld(JSON.stringify(old.written)), old.written.at + rateLimit.windowMillis, atOnce)
    }))
  })
})
