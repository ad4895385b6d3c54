/**
 * How the rate budget's tests drive the real `take` the way a leader does:
 * calls that must be granted, and a failover, where the next leader reads
 * what the last one wrote to KV through the state's JSON codec.
 */
import { assert } from "@effect/vitest"
import { Schema } from "effect"
import { BudgetState, type BudgetWindow, type RateLimit, take } from "../../src/RateBudget.ts"

export const BudgetJson = Schema.fromJsonString(BudgetState)

export const throughKv = (state: BudgetState | undefined): BudgetState | undefined =>
  state === undefined ? undefined : Schema.decodeUnknownSync(BudgetJson)(Schema.encodeSync(BudgetJson)(state))

/** Takes `count` calls at `now`, asserting that each is granted. */
export const takeAll = (rateLimit: RateLimit, state: BudgetState | undefined, now: number, count: number) => {
  let current = state
  for (let i = 0; i < count; i++) {
    const grant = take(rateLimit, current, now)
    assert.strictEqual(grant._tag, "Granted", `call ${i + 1} at ${now}`)
    if (grant._tag === "Granted") current = grant.state
  }
  return current as BudgetWindow
}
