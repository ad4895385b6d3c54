// The budget left, as status and watch report it: exactly the calls the
// leader's own rule (`take`) would grant now, and when the one after them
// goes. Each state here is one the leader's `take` or `block` produced.
import { describe, expect, it } from "@effect/vitest"
import { block, defaultRateLimit, take } from "@tokenbus/core"
import { budgetLeft } from "../../src/status/BudgetLeft.ts"
import { spentAt } from "./StoredEntries.ts"

const now = 5_000_000

describe("budgetLeft", () => {
  it("leaves the whole limit to a provider that never spent", () => {
    expect(budgetLeft(defaultRateLimit, undefined, now)).toEqual({
      limit: defaultRateLimit,
      left: 5,
      nextAt: now + 60_000,
      blockedUntil: undefined
    })
  })

  it("counts only the calls of the last window", () => {
    // Three calls, one of them more than a window ago.
    const state = spentAt(now - 70_000, now - 30_000, now - 10_000)
    expect(budgetLeft(defaultRateLimit, state, now)).toMatchObject({ left: 3, nextAt: now + 30_000 })
  })

  it("says when the next call goes once the window is full", () => {
    const state = spentAt(now - 50_000, now - 40_000, now - 30_000, now - 20_000, now - 10_000)
    expect(take(defaultRateLimit, state, now)._tag).toBe("Wait")
    expect(budgetLeft(defaultRateLimit, state, now)).toMatchObject({ left: 0, nextAt: now + 10_000 })
  })

  it("applies the bunching bound as the leader does", () => {
    const bunched = { tokens: 6, windowMillis: 60_000, burst: 2 }
    const state = spentAt(now - 1000)
    const left = budgetLeft(bunched, state, now)
    // One more may go now; the one after waits until a sixth of the window after the first.
    expect(left).toMatchObject({ left: 1, nextAt: now - 1000 + 10_000 })
    const afterOne = take(bunched, state, now)
    expect(afterOne._tag).toBe("Granted")
    if (afterOne._tag !== "Granted") return
    expect(take(bunched, afterOne.state, now)).toEqual({ _tag: "Wait", until: left.nextAt })
  })

  it("reports a 429's block and nothing left until it ends", () => {
    const blocked = block(defaultRateLimit, spentAt(now - 1000), now, now + 45_000)
    expect(budgetLeft(defaultRateLimit, blocked, now)).toEqual({
      limit: defaultRateLimit,
      left: 0,
      nextAt: now + 45_000,
      blockedUntil: now + 45_000
    })
  })
})
