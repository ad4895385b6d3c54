// The state a leader rebuilds from its replica's token when KV lost it, on the real functions.
import { describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import { rebuildLostState } from "../src/LostState.ts"
import { take } from "../src/RateBudget.ts"
import { Token } from "../src/Token.ts"
import { decideCarry } from "../src/UnconfirmedCall.ts"

const token = new Token({
  provider: "crm",
  version: 1_796_000_000_000_000,
  accessToken: Redacted.make("held"),
  tokenType: "Bearer",
  issuedAt: 1_000,
  reason: "proactive"
})
const limit = { tokens: 5, windowMillis: 60_000 }
const fence = { holder: "replica-2", term: 9 }

describe("rebuildLostState", () => {
  it("keeps the held token with its version, so consumers see no new version", () => {
    const state = rebuildLostState({ token, limit, policy: undefined, now: 50_000, fence })
    expect(state.token?.version).toBe(token.version)
    expect(Redacted.value(state.token!.accessToken)).toBe("held")
  })

  it("assumes the whole window was spent just now: no upstream call for one window", () => {
    const state = rebuildLostState({ token, limit, policy: undefined, now: 50_000, fence })
    expect(take(limit, state.budget, 50_000)._tag).toBe("Wait")
    expect(take(limit, state.budget, 109_999)._tag).toBe("Wait")
    expect(take(limit, state.budget, 110_000)._tag).toBe("Granted")
  })

  it("records the carry as possibly spent for a kind whose carry a call spends, and only then", () => {
    const stop = rebuildLostState({ token, limit, policy: "stop", now: 50_000, fence })
    expect(decideCarry("stop", stop)._tag).toBe("Stop")
    const login = rebuildLostState({ token, limit, policy: "log-in-again", now: 50_000, fence })
    expect(decideCarry("log-in-again", login)).toEqual({ _tag: "Use", carry: undefined })
    expect(rebuildLostState({ token, limit, policy: undefined, now: 50_000, fence }).unconfirmed).toBeUndefined()
  })
})
