// The status of a provider as `tokenbus status` shows it, from records the
// store's real encoder wrote: the leader is the fence, the token's version,
// reason, age and expiry are its own, the budget is what the leader's rule
// leaves, the breaker is open with its reason, and neither the access token
// nor the carry appears anywhere, sealed or in clear.
import { describe, expect, it } from "@effect/vitest"
import { defaultRateLimit, type ProviderState } from "@tokenbus/core"
import { Redacted } from "effect"
import { providerStatus, replicasOf } from "../../src/status/ClusterStatus.ts"
import { clearStorage } from "../support/StorageKeys.ts"
import { ACCESS_TOKEN, CARRY, entryOf, spentAt, tokenAt } from "./StoredEntries.ts"

const limit = { limit: defaultRateLimit, from: "config" as const }
const now = 10_000_000

describe("providerStatus", () => {
  const state: ProviderState = {
    token: tokenAt(now - 90_000, 1_700_000_000_000_000, now + 30_000),
    carry: Redacted.make(CARRY),
    budget: spentAt(now - 50_000, now - 20_000),
    fence: { holder: "replica-b", term: 4_000_012 },
    breaker: { reason: "invalid_client: the secret was rejected", since: now - 5000, fingerprint: "f1" }
  }

  it("reads leader, token, budget and breaker from a sealed record", () => {
    const entry = entryOf("project44", state, { revision: 12, storedAt: now - 1000 })
    const status = providerStatus("project44", entry, limit, now, new Set(["replica-a", "replica-b"]))
    expect(status).toEqual({
      provider: "project44",
      leader: { replica: "replica-b", term: 4_000_012, member: true },
      token: {
        version: 1_700_000_000_000_000,
        reason: "unauthorized-report",
        tokenType: "Bearer",
        issuedAt: new Date(now - 90_000).toISOString(),
        ageMillis: 90_000,
        expiresAt: new Date(now + 30_000).toISOString(),
        expiresInMillis: 30_000
      },
      budget: {
        tokens: 5,
        windowMillis: 60_000,
        burst: 5,
        limitFrom: "config",
        left: 3,
        nextAt: new Date(now + 10_000).toISOString(),
        blockedUntil: null
      },
      breaker: {
        open: true,
        reason: "invalid_client: the secret was rejected",
        since: new Date(now - 5000).toISOString()
      },
      unconfirmedSince: null,
      revision: 12,
      updatedAt: new Date(now - 1000).toISOString(),
      problem: null
    })
  })

  it("never carries the access token or the carry, also when KV holds the token in clear", () => {
    for (const entry of [entryOf("project44", state), entryOf("project44", state, { storage: clearStorage })]) {
      expect(entry.value).toContain("version")
      const shown = JSON.stringify(providerStatus("project44", entry, limit, now))
      expect(shown).not.toContain(ACCESS_TOKEN)
      expect(shown).not.toContain(CARRY)
      expect(shown).not.toContain("accessToken")
      expect(shown).not.toContain("carry")
    }
  })

  it("says when the leader of record is not among the live replicas", () => {
    const gone = providerStatus("project44", entryOf("project44", state), limit, now, new Set(["replica-a"]))
    expect(gone.leader).toEqual({ replica: "replica-b", term: 4_000_012, member: false })
  })

  it("gives a token stored without a version the record's revision, as the store reads it", () => {
    const old = entryOf("project44", { token: tokenAt(now, undefined) }, { revision: 31 })
    expect(providerStatus("project44", old, limit, now).token?.version).toBe(31)
  })

  it("shows a provider never written, or deleted, with no leader, no token and the whole budget", () => {
    const deleted = { ...entryOf("project44", state), operation: "DEL" as const, value: "" }
    for (const entry of [undefined, deleted]) {
      const status = providerStatus("project44", entry, { limit: defaultRateLimit, from: "default" }, now)
      expect(status).toMatchObject({ leader: null, token: null, revision: null, problem: null })
      expect(status.breaker).toEqual({ open: false, reason: null, since: null })
      expect(status.budget).toMatchObject({ left: 5, limitFrom: "default" })
    }
  })

  it("says when a record does not decode, rather than show it empty", () => {
    const broken = { ...entryOf("project44", state), value: "{\"token\":{\"reason\":42}}" }
    expect(providerStatus("project44", broken, limit, now).problem).toBe("the stored state does not decode")
  })

  it("counts the budget against the limit it is given", () => {
    const strict = { limit: { tokens: 2, windowMillis: 60_000 }, from: "config" as const }
    const status = providerStatus("project44", entryOf("project44", state), strict, now)
    expect(status.budget).toMatchObject({ tokens: 2, left: 0, nextAt: new Date(now + 10_000).toISOString() })
  })
})

describe("replicasOf", () => {
  const member = (id: string, operation: "PUT" | "DEL", storedAt: number) => ({
    key: `members.${id}`,
    revision: 3,
    operation,
    value: operation === "PUT" ? JSON.stringify({ holder: id, instance: `${id}-i1`, attempt: 2 }) : "",
    storedAt
  })

  it("lists the members that hold a value, sorted, and nothing else of the leases bucket", () => {
    const entries = [
      member("replica-c", "PUT", now),
      member("replica-a", "PUT", now - 400),
      member("replica-b", "DEL", now),
      { key: "project44", revision: 9, operation: "PUT" as const, value: "{}", storedAt: now }
    ]
    expect(replicasOf(entries)).toEqual([
      { id: "replica-a", instance: "replica-a-i1", renewedAt: new Date(now - 400).toISOString() },
      { id: "replica-c", instance: "replica-c-i1", renewedAt: new Date(now).toISOString() }
    ])
  })
})
