// The subject replicas ask a provider's leader on, `<prefix>.leader.<p>.mint`,
// fuzzed against the real leader on the in-memory NATS under TestClock with
// the payloads of HostileRequests.ts: whoever can publish there (a replica,
// or anyone NATS permissions fail to stop) gets exactly one typed reply per
// request, mints nothing with a malformed, unsupported or oversized request
// (an `operator` one included), and at most once per version with a report;
// the leader logs what it cannot read at a bounded rate (FuzzChecks.ts).
import { describe, it } from "@effect/vitest"
import { fuzzRun, sendHostile } from "./FuzzChecks.ts"
import { PROVIDER, subjects } from "./FuzzCluster.ts"
import { hostileMint } from "./HostileRequests.ts"

const runs = 2_000

/** The leader logs the requests it cannot read; what it refuses to serve, the replica that asked logs. */
const unreadable = (tag: string) => tag === "InvalidRequest" || tag === "UnsupportedProtocolVersion"

describe("hostile input on the leader's mint subject", () => {
  it.effect(`${runs} mint requests: each answered once, typed, and only a report of the held version mints`, () =>
    fuzzRun(
      runs,
      hostileMint,
      (fuzz, tally, hostile) => sendHostile(fuzz, tally, subjects.mint(PROVIDER), hostile),
      unreadable
    ), { timeout: 60_000 })
})
