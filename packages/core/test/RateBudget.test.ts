// The rate budget's rules, case by case on the real `take` and `block`: the
// rolling window, the burst, a clock behind the last writer's, 429 blocks and
// the schemas read from configuration and KV. RateBudgetFailover.test.ts holds
// the properties, RateBudgetLegacy.test.ts the states of earlier versions.
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { block, defaultRateLimit, type RateLimit, RateLimit as RateLimitSchema, take } from "../src/RateBudget.ts"
import { BudgetJson, takeAll, throughKv } from "./support/BudgetDriver.ts"

const limit = defaultRateLimit

describe("take", () => {
  it("grants project44's five at once, then nothing until the first of them leaves the minute", () => {
    const spent = takeAll(limit, undefined, 1_000, 5)
    assert.deepStrictEqual(take(limit, spent, 1_000), { _tag: "Wait", until: 61_000 })
    // A token bucket would have granted a sixth at 13 000: the window does not.
    assert.deepStrictEqual(take(limit, spent, 13_000), { _tag: "Wait", until: 61_000 })
    assert.strictEqual(take(limit, spent, 60_999)._tag, "Wait")
    takeAll(limit, spent, 61_000, 5)
  })

  it("frees each call exactly a window after it was made", () => {
    let state = takeAll(limit, undefined, 0, 1)
    state = takeAll(limit, state, 10_000, 2)
    state = takeAll(limit, state, 30_000, 2)
    assert.deepStrictEqual(take(limit, state, 30_000), { _tag: "Wait", until: 60_000 })
    state = takeAll(limit, state, 60_000, 1)
    assert.deepStrictEqual(take(limit, state, 60_000), { _tag: "Wait", until: 70_000 })
    takeAll(limit, state, 70_000, 2)
  })

  it("a burst below tokens spaces calls: burst 1 of 5 a minute is one call every 12 s", () => {
    const spaced: RateLimit = { tokens: 5, windowMillis: 60_000, burst: 1 }
    const first = takeAll(spaced, undefined, 0, 1)
    assert.deepStrictEqual(take(spaced, first, 0), { _tag: "Wait", until: 12_000 })
    assert.strictEqual(take(spaced, first, 11_999)._tag, "Wait")
    const pair: RateLimit = { tokens: 5, windowMillis: 60_000, burst: 2 }
    assert.deepStrictEqual(take(pair, takeAll(pair, undefined, 0, 2), 5_000), { _tag: "Wait", until: 12_000 })
  })

  it("a burst at or above tokens, or none, leaves only the window", () => {
    for (const burst of [undefined, 5, 10]) {
      const rateLimit: RateLimit = burst === undefined ? { tokens: 5, windowMillis: 60_000 } : { ...limit, burst }
      assert.deepStrictEqual(take(rateLimit, takeAll(rateLimit, undefined, 0, 5), 0), { _tag: "Wait", until: 60_000 })
    }
  })

  it("frees nothing while this clock is behind the one that last wrote, and counts its calls from there", () => {
    const ahead = takeAll(limit, undefined, 100_000, 5)
    assert.deepStrictEqual(take(limit, ahead, 40_000), { _tag: "Wait", until: 160_000 })
    // Calls made on the slow clock are counted at the writer's time, not at 40 000.
    const one = takeAll(limit, undefined, 100_000, 1)
    const behind = takeAll(limit, one, 40_000, 4)
    assert.deepStrictEqual(take(limit, behind, 99_000), { _tag: "Wait", until: 160_000 })
  })

  it("a clock behind is answered as at the writer's time, also when that time has freed a call", () => {
    // One call every 12 s: the call at 80 000 held the next back until 92 000, and
    // a later writer (a 429 that had ended) moved the state to 100 000.
    const spaced: RateLimit = { tokens: 5, windowMillis: 60_000, burst: 1 }
    const moved = block(spaced, takeAll(spaced, undefined, 80_000, 1), 100_000, 100_000)
    assert.strictEqual(take(spaced, moved, 50_000)._tag, "Granted")
  })

  it("keeps only as many calls as the limit counts, when the limit was lowered since the last write", () => {
    const five = takeAll(limit, undefined, 0, 5)
    const lowered: RateLimit = { tokens: 2, windowMillis: 60_000 }
    assert.deepStrictEqual(block(lowered, five, 1_000, 2_000), { calls: [0, 0], at: 1_000, blockedUntil: 2_000 })
    assert.deepStrictEqual(take(lowered, five, 1_000), { _tag: "Wait", until: 60_000 })
  })
})

describe("block", () => {
  it("a 429 closes the budget until Retry-After, whatever it holds, and is then forgotten", () => {
    const blocked = block(limit, undefined, 0, 30_000)
    assert.deepStrictEqual(take(limit, blocked, 0), { _tag: "Wait", until: 30_000 })
    assert.deepStrictEqual(take(limit, blocked, 29_999), { _tag: "Wait", until: 30_000 })
    const grant = take(limit, throughKv(blocked), 30_000)
    assert.strictEqual(grant._tag, "Granted")
    if (grant._tag === "Granted") assert.isUndefined(grant.state.blockedUntil)
  })

  it("a later, shorter Retry-After does not shorten an earlier block", () => {
    const blocked = block(limit, block(limit, undefined, 0, 30_000), 1_000, 5_000)
    assert.deepStrictEqual(take(limit, blocked, 5_000), { _tag: "Wait", until: 30_000 })
  })

  it("a block ending before the window frees a call does not free it early", () => {
    const blocked = block(limit, takeAll(limit, undefined, 0, 5), 0, 10_000)
    assert.deepStrictEqual(take(limit, blocked, 10_000), { _tag: "Wait", until: 60_000 })
  })

  it("on a clock behind the state's, the block lasts its full length from the state's time", () => {
    const written = takeAll(limit, undefined, 100_000, 1)
    const blocked = block(limit, written, 40_000, 45_000)
    assert.deepStrictEqual(take(limit, blocked, 40_000), { _tag: "Wait", until: 105_000 })
  })
})

describe("the schemas", () => {
  it("defaults to project44's documented limit", () => {
    assert.deepStrictEqual(defaultRateLimit, { tokens: 5, windowMillis: 60_000, burst: 5 })
  })

  it("reads rate limits of existing configuration files, and one without burst", () => {
    const decode = Schema.decodeUnknownSync(RateLimitSchema)
    for (
      const config of [
        { tokens: 5, windowMillis: 60_000, burst: 5 },
        { tokens: 60, windowMillis: 60_000, burst: 10 },
        { tokens: 1_000_000, windowMillis: 60_000, burst: 10_000 },
        { tokens: 5, windowMillis: 60_000 }
      ]
    ) {
      assert.deepStrictEqual(decode(config), config)
    }
    for (const bad of [{ tokens: 0, windowMillis: 60_000 }, { tokens: 5, windowMillis: 60_000, burst: 0 }]) {
      assert.throws(() => decode(bad))
    }
  })

  it("round-trips the state through JSON and refuses what is not one", () => {
    const state = block(limit, takeAll(limit, undefined, 5_000, 3), 5_000, 9_000)
    assert.deepStrictEqual(state, { calls: [5_000, 5_000, 5_000], at: 5_000, blockedUntil: 9_000 })
    assert.deepStrictEqual(throughKv(state), state)
    const decode = Schema.decodeUnknownOption(BudgetJson)
    for (const bad of [`{"calls":[1]}`, `{"calls":[-1],"at":5}`, `{"at":5}`, `{"available":-1,"at":5}`, `[]`]) {
      assert.strictEqual(decode(bad)._tag, "None", bad)
    }
  })
})
