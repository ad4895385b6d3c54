// The chaos checker can fail: each invariant, given a history that breaks it
// (built event by event, as the recorder writes them), reports the
// violation, and a history that keeps every promise passes. Without this a
// checker that never flags anything would let every chaos run pass. The
// diagnosis of a circuit-breaker trip names what became of the in-doubt
// call's holder.
import { describe, expect, it } from "vitest"
import { breakerTrips } from "./BreakerTrips.ts"
import { CRM, LEASE, P44, REVOCATION_RECOVERY_BOUND_MILLIS } from "./ChaosSettings.ts"
import type { CheckInput } from "./CheckInput.ts"
import { checkHistory } from "./Checker.ts"
import { type ChaosEvent, History } from "./History.ts"

const start = 1_000_000

const commit = (replica: string, provider: string, term: number, version: number, at: number): ChaosEvent => ({
  type: "log",
  at,
  replica,
  msg: "minted and committed a token",
  provider,
  term,
  version,
  reason: "initial"
})

const held = (consumer: string, provider: string, version: number | undefined, at: number): ChaosEvent => ({
  type: "held",
  at,
  consumer,
  provider,
  version,
  ...(version === undefined ? {} : { token: `fp-${provider}-${version}` })
})

/** A run that keeps every promise: one token per provider, held by one consumer from the start. */
const healthyEvents = (): Array<ChaosEvent> => [
  { type: "log", at: start, replica: "r1", msg: "became leader", provider: P44, term: 1 },
  { type: "log", at: start, replica: "r1", msg: "became leader", provider: CRM, term: 2 },
  { type: "upstream", at: start + 10, end: start + 20, provider: P44, status: 200 },
  { type: "upstream", at: start + 10, end: start + 20, provider: CRM, status: 200, refreshToken: "rt-1" },
  commit("r1", P44, 1, 10, start + 30),
  commit("r1", CRM, 2, 11, start + 30),
  held("c1", P44, 10, start + 40),
  held("c1", CRM, 11, start + 40)
]

const inputOf = (events: ReadonlyArray<ChaosEvent>, overrides: Partial<CheckInput> = {}): CheckInput => {
  const history = new History()
  for (const event of events) history.add(event)
  return {
    history,
    limits: { [P44]: { tokens: 5, windowMillis: 60_000, burst: 5 }, [CRM]: { tokens: 12, windowMillis: 60_000 } },
    rateLimitedBySim: { [P44]: 0 },
    refreshReuse: { reuseDetected: 0, invalidGrant: 0 },
    bucketReplicas: [{ when: "end", tokens: 3, leases: 3 }],
    wantedReplicas: 3,
    scaledByTest: [],
    leaks: [],
    healedAt: start + 1000,
    end: start + 600_000,
    start,
    ...overrides
  }
}

const violated = (input: CheckInput) =>
  checkHistory(input).filter((verdict) => verdict.violations.length > 0).map((verdict) => verdict.invariant)

describe("chaos checker", () => {
  it("passes a history that keeps every promise", () => {
    expect(violated(inputOf(healthyEvents()))).toEqual([])
  })

  it("flags a sixth project44 call within a minute, and any 429", () => {
    const calls = Array.from({ length: 5 }, (_, index): ChaosEvent => ({
      type: "upstream",
      at: start + 1000 + index * 11_000,
      end: start + 1010 + index * 11_000,
      provider: P44,
      status: index === 4 ? 429 : 200
    }))
    expect(violated(inputOf([...healthyEvents(), ...calls]))).toEqual(["upstream rate limit: project44"])
  })

  it("flags a version committed twice and two replicas committing in one term", () => {
    const events = [...healthyEvents(), commit("r2", P44, 1, 10, start + 500)]
    expect(violated(inputOf(events))).toEqual(["at most one token per version", "no two replicas commit in one term"])
  })

  it("flags a consumer whose version goes back", () => {
    const events = [...healthyEvents(), commit("r1", P44, 1, 12, start + 100), held("c1", P44, 12, start + 200),
      held("c1", P44, 10, start + 300), held("c1", P44, 12, start + 400)]
    expect(violated(inputOf(events))).toEqual(["versions a consumer sees only grow"])
  })

  it("flags a consumer still without a newer token past the bound after a revocation", () => {
    const revokedAt = start + 500
    const late = revokedAt + REVOCATION_RECOVERY_BOUND_MILLIS + 1
    const events = [...healthyEvents(), { type: "revocation", at: revokedAt, provider: P44, version: 10, token: "x" },
      commit("r1", P44, 1, 13, late - 10), held("c1", P44, 13, late)] as Array<ChaosEvent>
    const input = inputOf(events, { healedAt: late })
    expect(violated(input)).toEqual(["every consumer holds a newer token after a revocation"])
    const inTime = [...events.slice(0, -1), held("c1", P44, 13, revokedAt + 100)]
    expect(violated(inputOf(inTime, { healedAt: late }))).toEqual([])
  })

  it("after a lost state, counts the recovery bound from the end of the budget window the product waits out", () => {
    const lostAt = start + 200
    const revokedAt = start + 500
    const recovered = lostAt + 60_000 + 1_000
    const lost: ChaosEvent = { type: "log", at: lostAt, replica: "r1", provider: P44,
      msg: "the provider's state in KV was lost; adopted the token this replica holds" }
    const events = [...healthyEvents(), { type: "revocation", at: revokedAt, provider: P44, version: 10, token: "x" },
      commit("r1", P44, 1, 13, recovered - 10), held("c1", P44, 13, recovered)] as Array<ChaosEvent>
    expect(violated(inputOf([...events, lost], { healedAt: recovered }))).toEqual([])
    expect(violated(inputOf(events, { healedAt: recovered }))).toEqual(["every consumer holds a newer token after a revocation"])
  })

  it("counts from the end of the budget window also when the lost state is found after the revocation", () => {
    // Seed 1771139318: the bucket came back while nobody wrote project44's state; the leader after a NATS
    // outage found it lost 8 s after the revocation and waited the window out, past the run's end.
    const revokedAt = start + 500
    const lostAt = revokedAt + 8_000
    const recovered = lostAt + 60_000 + 1_000
    const lost: ChaosEvent = { type: "log", at: lostAt, replica: "r1", provider: P44,
      msg: "the provider's state in KV was lost; adopted the token this replica holds" }
    const events = [...healthyEvents(), { type: "revocation", at: revokedAt, provider: P44, version: 10, token: "x" },
      commit("r1", P44, 1, 13, recovered - 10), held("c1", P44, 13, recovered)] as Array<ChaosEvent>
    expect(violated(inputOf([...events, lost], { healedAt: recovered }))).toEqual([])
    const tooLate = { ...lost, at: revokedAt + REVOCATION_RECOVERY_BOUND_MILLIS + 1 }
    expect(violated(inputOf([...events, tooLate], { healedAt: recovered })))
      .toEqual(["every consumer holds a newer token after a revocation"])
  })

  it("flags a failed getToken by a consumer holding a token while a replica was up, but not with none up", () => {
    const failed = (replicasUp: number): ChaosEvent => ({ type: "op", at: start + 600, start: start + 500,
      consumer: "c1", provider: CRM, op: "getToken", held: true, replicasUp, ok: false, error: "ServiceUnavailable" })
    expect(violated(inputOf([...healthyEvents(), failed(2)]))).toEqual(["getToken never fails while holding a token"])
    expect(violated(inputOf([...healthyEvents(), failed(0)]))).toEqual([])
  })

  it("flags a refresh token presented twice, and the upstream's own reuse detection", () => {
    const replay: ChaosEvent = { type: "upstream", at: start + 900, end: start + 910, provider: CRM, status: 400,
      refreshToken: "rt-1" }
    expect(violated(inputOf([...healthyEvents(), replay]))).toEqual(["no refresh token is replayed"])
    const detected = inputOf(healthyEvents(), { refreshReuse: { reuseDetected: 1, invalidGrant: 1 } })
    expect(violated(detected)).toEqual(["no refresh token is replayed"])
  })

  it("flags a consumer that does not hold the newest commit after healing", () => {
    const events = [...healthyEvents(), commit("r1", CRM, 2, 14, start + 800)]
    expect(violated(inputOf(events))).toEqual(["all consumers converge after healing"])
  })

  it("flags a provider without a leader past the TTL + 1 s, unless within a KV outage's recovery", () => {
    const gapMillis = LEASE.ttlMillis + 1001
    const killedAt = start + 2000
    const events = [...healthyEvents(), { type: "signal", at: killedAt, replica: "r1", signal: "SIGKILL" },
      { type: "log", at: killedAt + gapMillis, replica: "r2", msg: "became leader", provider: P44, term: 3 },
      { type: "log", at: killedAt + 100, replica: "r2", msg: "became leader", provider: CRM, term: 4 }] as Array<
        ChaosEvent
      >
    expect(violated(inputOf(events))).toEqual(["no provider without a leader longer than the lease TTL + 1 s"])
    const outage: ChaosEvent = { type: "fault", at: killedAt - 500, end: killedAt + 1000, kind: "pause-nats",
      target: "n1", detail: "paused" }
    expect(violated(inputOf([...events, outage]))).toEqual([])
    // Leases lapse while the streams elect leaders after the node is back: a gap starting then is excused too,
    // one starting after that recovery is not.
    const healed: ChaosEvent = { ...outage, at: killedAt - 3000, end: killedAt - 2000 } as ChaosEvent
    expect(violated(inputOf([...events, healed]))).toEqual([])
    const long: ChaosEvent = { ...outage, at: killedAt - 7000, end: killedAt - 6000 } as ChaosEvent
    expect(violated(inputOf([...events, long]))).toEqual(["no provider without a leader longer than the lease TTL + 1 s"])
    const otherFault: ChaosEvent = { ...outage, kind: "pause-leader" } as ChaosEvent
    expect(violated(inputOf([...events, otherFault]))).toEqual([
      "no provider without a leader longer than the lease TTL + 1 s"
    ])
  })

  it("excuses a gap by the last of the outages it overlaps, not the first", () => {
    // CI's fixed seed: a bucket deleted and recreated, a NATS node killed right after; the leases' stream had
    // no leader until well after the node's return, and the gap was judged against the bucket fault alone.
    const killedAt = start + 2000
    const events = [...healthyEvents(), { type: "signal", at: killedAt, replica: "r1", signal: "SIGKILL" },
      { type: "log", at: killedAt + 8000, replica: "r2", msg: "became leader", provider: P44, term: 3 },
      { type: "log", at: killedAt + 100, replica: "r2", msg: "became leader", provider: CRM, term: 4 }] as Array<
        ChaosEvent
      >
    const bucket: ChaosEvent = { type: "fault", at: killedAt - 4000, end: killedAt - 2000, kind: "bucket",
      target: "leases", detail: "deleted" }
    const node: ChaosEvent = { type: "fault", at: killedAt - 1000, end: killedAt + 1000, kind: "kill-nats",
      target: "n3", detail: "killed" }
    expect(violated(inputOf([...events, bucket]))).toEqual(["no provider without a leader longer than the lease TTL + 1 s"])
    expect(violated(inputOf([...events, bucket, node]))).toEqual([])
    // An outage that began when the gap was already past the bound excuses nothing.
    const late: ChaosEvent = { ...node, at: killedAt + 5000, end: killedAt + 6000 } as ChaosEvent
    expect(violated(inputOf([...events, late]))).toEqual(["no provider without a leader longer than the lease TTL + 1 s"])
  })

  it("flags buckets below the wanted replication and leaked secrets", () => {
    const input = inputOf(healthyEvents(), {
      bucketReplicas: [{ when: "end", tokens: 1, leases: 3 }],
      leaks: ["r1 leaked the crm client secret"]
    })
    expect(violated(input)).toEqual(["KV buckets replicated R3", "no secret in the replicas' output"])
  })
})

describe("breaker trip diagnosis", () => {
  const trip = (at: number): ChaosEvent => ({
    type: "log",
    at,
    replica: "r2",
    msg: `the upstream rejected the credentials of crm: a call to the upstream by id-1 (term 7) at ` +
      `${new Date(start + 100).toISOString()} may have spent the refresh token, and its answer was never committed`,
    provider: CRM
  })
  const holder: ChaosEvent = { type: "log", at: start, replica: "r1", replicaId: "id-1", msg: "became leader",
    provider: CRM, term: 7 }

  it("tells a holder that froze with the call in flight from one that was alive", () => {
    const stopped: ChaosEvent = { type: "signal", at: start + 150, replica: "r1", signal: "SIGSTOP" }
    const frozen = inputOf([holder, stopped, trip(start + 900)])
    expect(breakerTrips(frozen)[0]?.inDoubt).toMatch(/r1 got SIGSTOP at \+0\.15s; the upstream saw no call/)
    const alive = inputOf([holder, { type: "upstream", at: start + 120, end: start + 500, provider: CRM, status: 200 },
      trip(start + 900)])
    expect(breakerTrips(alive)[0]?.inDoubt).toMatch(/r1 was neither killed nor stopped, and kept its lease.*calls at \+0\.12s \(200\)/)
    const cutOff = inputOf([holder, { type: "log", at: start + 400, replica: "r1", msg: "stepped down", provider: CRM },
      trip(start + 900)])
    expect(breakerTrips(cutOff)[0]?.documented).toBe(true)
    // Only the first is the outcome the product documents; the second is a leader that dropped an answer.
    expect(breakerTrips(frozen)[0]?.documented).toBe(true)
    expect(breakerTrips(alive)[0]?.documented).toBe(false)
  })
})
