// `tokenbus status` and `tokenbus watch` for a person: the status of
// records the store's real encoder wrote, rendered as the table, and events
// as lines. Each provider's row holds its leader, term, version, reason,
// age, expiry, budget and breaker under the right heading; what does not
// fit a column (a breaker's reason) follows the table; no token ever shows.
import { describe, expect, it } from "@effect/vitest"
import { defaultRateLimit } from "@tokenbus/core"
import { eventLine } from "../../src/cli/EventLine.ts"
import { renderTable, shortDuration, statusTable } from "../../src/cli/StatusTable.ts"
import { type ClusterStatus, providerStatus } from "../../src/status/ClusterStatus.ts"
import { ACCESS_TOKEN, entryOf, spentAt, tokenAt } from "../status/StoredEntries.ts"

const now = 30_000_000
const limit = { limit: defaultRateLimit, from: "config" as const }

const status: ClusterStatus = {
  prefix: "tokenbus",
  at: new Date(now).toISOString(),
  replicas: [
    { id: "replica-a", instance: "i-1", renewedAt: new Date(now - 400).toISOString() },
    { id: "replica-b", instance: "i-2", renewedAt: new Date(now - 2500).toISOString() }
  ],
  providers: [
    providerStatus("itempath", undefined, { limit: defaultRateLimit, from: "default" }, now),
    providerStatus(
      "project44",
      entryOf("project44", {
        token: tokenAt(now - 125_000, 1_700_000_000_000_123, now + 3_600_000),
        budget: spentAt(now - 30_000, now - 20_000, now - 10_000, now - 5000, now - 1000),
        fence: { holder: "replica-b", term: 9_000_004 },
        breaker: { reason: "invalid_client: rejected", since: now - 65_000, fingerprint: "x" }
      }),
      limit,
      now,
      new Set(["replica-a", "replica-b"])
    )
  ]
}

/** The table's cells, row by row, split on the two spaces between columns. */
const cells = (text: string) => text.split("\n").map((line) => line.split(/ {2,}/))

describe("statusTable", () => {
  const text = statusTable(status)

  it("lists the replicas with what each leads", () => {
    const rows = cells(text)
    expect(rows).toContainEqual(["REPLICA", "RENEWED", "LEADS"])
    expect(rows).toContainEqual(["replica-a", "0.4s ago", "-"])
    expect(rows).toContainEqual(["replica-b", "2s ago", "project44"])
  })

  it("gives each provider a row under the headings, its breaker's reason after the table", () => {
    const rows = cells(text)
    const headings = ["PROVIDER", "LEADER", "TERM", "VERSION", "REASON", "AGE", "EXPIRES IN", "BUDGET", "BREAKER"]
    expect(rows).toContainEqual(headings)
    expect(rows).toContainEqual([
      "project44",
      "replica-b",
      "9000004",
      "1700000000000123",
      "unauthorized-report",
      "2m05s",
      "1h00m",
      "0 left of 5/1m00s, next in 30s",
      "OPEN 1m05s"
    ])
    const unminted = ["itempath", "none", "-", "none", "-", "-", "-", "5 left of 5/1m00s (default limit)", "closed"]
    expect(rows).toContainEqual(unminted)
    expect(text).toContain("  project44: breaker open: invalid_client: rejected")
    expect(text).not.toContain(ACCESS_TOKEN)
  })

  it("marks a leader of record that is not a live replica", () => {
    const project44 = status.providers.find((provider) => provider.provider === "project44")
    if (project44 === undefined) throw new Error("no project44 in the status")
    const gone = { ...project44, leader: { replica: "replica-b", term: 9_000_004, member: false } }
    const text = statusTable({ ...status, providers: [gone] })
    expect(cells(text).find((row) => row[0] === "project44")?.[1]).toBe("replica-b (gone)")
    expect(text).toContain("project44: the leader of record is not a live replica")
  })

  it("says so when there is nothing to list", () => {
    const empty = statusTable({ ...status, replicas: [], providers: [] })
    expect(empty).toContain("Replicas: none listed in the leases bucket")
    expect(empty).toContain("Providers: none in the tokens bucket (pass --config to list the configured ones)")
  })
})

describe("renderTable and shortDuration", () => {
  it("pads each column to its widest cell", () => {
    expect(renderTable(["A", "BB"], [["long", "x"], ["s", "yy"]])).toBe("A     BB\nlong  x\ns     yy")
  })

  it("reads at a glance", () => {
    expect([450, 45_000, 125_000, 3_720_000, 273_600_000, -7000].map(shortDuration))
      .toEqual(["0.5s", "45s", "2m05s", "1h02m", "3d04h", "7s"])
  })
})

describe("eventLine", () => {
  it("says when, which provider and what happened", () => {
    const at = new Date(now).toISOString()
    const previous = { replica: "r-a", term: 11 }
    expect(eventLine({ event: "leader", at, provider: "project44", replica: "r-b", term: 14, previous }))
      .toBe(`${at}  project44  led by r-b, term 14 (was r-a, term 11)`)
    const spent = { left: 0, tokens: 5, nextAt: at, blockedUntil: null }
    expect(eventLine({ event: "budget", at, provider: "project44", ...spent }))
      .toBe(`${at}  project44  budget 0 of 5 left, next at ${at}`)
    const token = { version: 3, reason: "operator", issuedAt: at, expiresAt: null }
    expect(eventLine({ event: "token", at, provider: "p", ...token }))
      .toBe(`${at}  p  new token, version 3 (operator)`)
  })
})
