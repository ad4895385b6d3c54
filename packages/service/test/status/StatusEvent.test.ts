// What `tokenbus watch` reports, from the records and updates the replicas
// really write: a new fence is a leader change (with the one before), a
// breaker that opens or closes says so, a spent call reports the budget
// left, a rewrite that changes none of these reports nothing, a deletion is
// reported, and an update becomes a token event that never holds its token.
import { describe, expect, it } from "@effect/vitest"
import { defaultRateLimit, type ProviderState, Token, TokenUpdateJson } from "@tokenbus/core"
import { Option, Redacted, Schema } from "effect"
import { stateEvents, tokenEvent } from "../../src/status/StatusEvent.ts"
import { ACCESS_TOKEN, entryOf, spentAt, tokenAt } from "./StoredEntries.ts"

const limit = { limit: defaultRateLimit, from: "config" as const }
const now = 20_000_000
const iso = (millis: number) => new Date(millis).toISOString()

/** The events of each record in turn, each against the state the one before left. */
const eventsOf = (states: ReadonlyArray<ProviderState | "deleted">) => {
  let before: ReturnType<typeof stateEvents>["after"]
  return states.map((state, i) => {
    const at = now + i * 1000
    const entry = state === "deleted"
      ? { key: "project44", revision: i + 1, operation: "DEL" as const, value: "", storedAt: at }
      : entryOf("project44", state, { revision: i + 1, storedAt: at })
    const { after, events } = stateEvents(before, entry, limit)
    before = after
    return events
  })
}

describe("stateEvents", () => {
  const token = tokenAt(now - 1000, 1_700_000_000_000_000)
  const fenced: ProviderState = { token, fence: { holder: "replica-a", term: 11 } }

  it("reports a new fence as a leader change, naming the leader before it", () => {
    const [first, second] = eventsOf([fenced, { ...fenced, fence: { holder: "replica-b", term: 14 } }])
    expect(first).toEqual([{
      event: "leader",
      at: iso(now),
      provider: "project44",
      replica: "replica-a",
      term: 11,
      previous: null
    }])
    expect(second).toEqual([{
      event: "leader",
      at: iso(now + 1000),
      provider: "project44",
      replica: "replica-b",
      term: 14,
      previous: { replica: "replica-a", term: 11 }
    }])
  })

  it("reports the breaker opening and closing, and the budget each spent call leaves", () => {
    const spent = { ...fenced, budget: spentAt(now) }
    const open = { ...spent, breaker: { reason: "invalid_client", since: now + 1500, fingerprint: "f" } }
    const [, opened, closed] = eventsOf([spent, open, spent])
    expect(opened).toEqual([{
      event: "breaker",
      at: iso(now + 1000),
      provider: "project44",
      open: true,
      reason: "invalid_client",
      since: iso(now + 1500)
    }])
    expect(closed).toEqual([{
      event: "breaker",
      at: iso(now + 2000),
      provider: "project44",
      open: false,
      reason: null,
      since: null
    }])
    const [, spentTwice] = eventsOf([spent, { ...spent, budget: spentAt(now, now + 1000) }])
    expect(spentTwice).toEqual([{
      event: "budget",
      at: iso(now + 1000),
      provider: "project44",
      left: 3,
      tokens: 5,
      nextAt: iso(now + 60_000),
      blockedUntil: null
    }])
  })

  it("reports nothing for a rewrite that changes no leader, breaker or budget, and a deletion as such", () => {
    const [, same, gone] = eventsOf([fenced, { ...fenced, token: { ...token, issuedAt: now } }, "deleted"])
    expect(same).toEqual([])
    expect(gone).toEqual([{ event: "removed", at: iso(now + 2000), provider: "project44" }])
  })
})

describe("tokenEvent", () => {
  const encode = Schema.encodeSync(TokenUpdateJson)
  const update = (provider: string) =>
    encode({
      v: 1,
      token: new Token({
        provider,
        version: 1_700_000_000_000_777,
        accessToken: Redacted.make(ACCESS_TOKEN),
        tokenType: "Bearer",
        issuedAt: now,
        expiresAt: now + 3_600_000,
        reason: "operator"
      })
    })

  it("reads an update's version, reason and expiry and never its token", () => {
    const payload = update("project44")
    expect(payload).toContain(ACCESS_TOKEN)
    const event = tokenEvent("project44", payload, now + 5)
    expect(event).toEqual(Option.some({
      event: "token",
      at: iso(now + 5),
      provider: "project44",
      version: 1_700_000_000_000_777,
      reason: "operator",
      issuedAt: iso(now),
      expiresAt: iso(now + 3_600_000)
    }))
    expect(JSON.stringify(event)).not.toContain(ACCESS_TOKEN)
  })

  it("ignores an update of another provider than its subject's, and what is not an update", () => {
    expect(tokenEvent("itempath", update("project44"), now)).toEqual(Option.none())
    expect(tokenEvent("project44", "not json", now)).toEqual(Option.none())
  })
})
