// The rule for a carry an earlier call may have spent, on the real functions.
import { describe, expect, it } from "@effect/vitest"
import { decideCarry, recordsCall } from "../src/UnconfirmedCall.ts"

const unconfirmed = { since: 1_000, holder: "replica-1", term: 7 }

describe("decideCarry", () => {
  it("passes the carry on when no call is unconfirmed, whatever the kind", () => {
    for (const policy of [undefined, "log-in-again", "stop"] as const) {
      expect(decideCarry(policy, { carry: "c" })).toEqual({ _tag: "Use", carry: "c" })
    }
  })

  it("stops a kind whose carry rotates, naming the call that may have spent it", () => {
    expect(decideCarry("stop", { carry: "c", unconfirmed })).toEqual({ _tag: "Stop", unconfirmed })
  })

  it("lets a kind that can log in again mint without the carry", () => {
    expect(decideCarry("log-in-again", { carry: "c", unconfirmed })).toEqual({ _tag: "Use", carry: undefined })
  })

  it("ignores the record for a kind whose carry is not spent by a call", () => {
    expect(decideCarry(undefined, { carry: "c", unconfirmed })).toEqual({ _tag: "Use", carry: "c" })
  })
})

describe("recordsCall", () => {
  it("records only calls that carry something a kind says a call may spend", () => {
    expect(recordsCall("stop", "c")).toBe(true)
    expect(recordsCall("log-in-again", "c")).toBe(true)
    expect(recordsCall("stop", undefined)).toBe(false)
    expect(recordsCall(undefined, "c")).toBe(false)
  })
})
