// End to end, with real processes: three tokenbus replicas (child processes
// of `bin.ts serve`), the run's NATS server, and a simulated project44
// upstream whose counters say how often the upstream was really called.
//
// One cluster serves the whole file. No test here makes the leader mint
// again or stops a replica, and each one starts from the cluster's first
// token (`firstToken()`), so any of them can run alone.
import { TokenbusClient } from "@tokenbus/client"
import { expectError, expectToken, logMsg, PROVIDER, sleep } from "@tokenbus/testing"
import { describe, expect, inject, it } from "vitest"
import { deliveredCounts, useReplicaCluster } from "./support/ServiceFixture.ts"

/** How long to keep watching after the expected mint, so a late second mint would be seen. */
const SETTLE_MS = 1500

describe("three replicas, one upstream token", () => {
  const fixture = useReplicaCluster({ replicas: 3 })

  it("mints exactly once however many replicas start", async () => {
    const { cluster } = fixture
    const token = await cluster.firstToken()
    const leader = await cluster.settledLeader()
    expect(token.provider).toBe(PROVIDER)
    expect(token.reason).toBe("initial")
    expect(token.tokenType.toLowerCase()).toBe("bearer")
    expect(cluster.sim.issuedTokens()).toEqual([token.accessToken])

    await sleep(SETTLE_MS)
    expect(cluster.sim.counters()).toMatchObject({ mints: 1, tokenRequests: 1, rateLimited: 0, invalidClient: 0 })
    // Started together, the three agree on one leader; one started late may be handed the provider (the live
    // members share providers by rendezvous hashing), which adopts the token: one mint, by one replica, and each
    // leader's term above the one before.
    const elected = cluster.linesOfAll(logMsg("became leader", { provider: PROVIDER }))
      .map(({ line }) => line)
      .sort((a, b) => Number(a["time"]) - Number(b["time"]))
      .map((line) => Number(line["term"]))
    expect(elected).toEqual([...new Set(elected)].sort((a, b) => a - b))
    const minted = cluster.linesOfAll(logMsg("minted and committed a token", { provider: PROVIDER }))
    expect(minted).toHaveLength(1)
    expect(minted[0]?.line["version"]).toBe(token.version)
    expect(cluster.leader()?.replica).toBe(leader.replica)
    expect(cluster.running).toHaveLength(3)
  })

  // Which replica answers a request is NATS's choice (random within the queue
  // group) and is not visible in the reply. Stopping the other replicas with
  // SIGSTOP does not isolate one: the server cannot tell a stopped process
  // from a busy one, keeps routing to its subscription, and those requests
  // time out. Instead the test asks the NATS server: its `/connz` counts, per
  // connection and subscription, the messages delivered. Each replica has its
  // own connection name, so after N gets, every one of them answered, and the
  // N replies are all identical, every replica answered with the same token.
  it("answers the same token from every replica", async () => {
    const { cluster } = fixture
    const token = await cluster.firstToken()
    const getSubject = `${cluster.prefix}.token.*.get`
    const before = await deliveredCounts(cluster.replicas, getSubject)
    const gets = 60
    const replies = await Promise.all(
      Array.from({ length: gets }, (_, i) =>
        // Both forms a client may send: the explicit version, and the empty payload meaning {"v":1}.
        cluster.request(cluster.subjects.get(), i % 2 === 0 ? JSON.stringify({ v: 1 }) : "", 5000)
      )
    )
    for (const reply of replies) {
      const got = expectToken(reply)
      expect(got.version).toBe(token.version)
      expect(got.accessToken).toBe(token.accessToken)
      expect(got).toEqual(token)
    }
    const after = await deliveredCounts(cluster.replicas, getSubject)
    let total = 0
    for (const replica of cluster.replicas) {
      const delta = (after.get(replica) ?? 0) - (before.get(replica) ?? 0)
      expect(after.get(replica), `${replica.name} has no NATS connection`).toBeDefined()
      expect(delta, `${replica.name} answered none of the ${gets} gets`).toBeGreaterThan(0)
      total += delta
    }
    expect(total).toBe(gets)

    // The client library sees the same token.
    const client = await TokenbusClient.connect({ servers: [inject("natsUrl")], prefix: cluster.prefix })
    try {
      const viaClient = await client.getToken(PROVIDER)
      expect(viaClient.version).toBe(token.version)
      expect(await client.accessToken(PROVIDER)).toBe(token.accessToken)
    } finally {
      await client.close()
    }
    expect(cluster.sim.counters()).toMatchObject({ mints: 1, tokenRequests: 1 })
  })

  it("answers bad input with typed errors and keeps serving", async () => {
    const { cluster } = fixture
    const token = await cluster.firstToken()
    const get = cluster.subjects.get()
    const unauthorized = cluster.subjects.unauthorized()
    const cases: ReadonlyArray<{ subject: string; payload: string | Uint8Array; tag: string }> = [
      { subject: get, payload: "{not json", tag: "InvalidRequest" },
      { subject: get, payload: "null", tag: "InvalidRequest" },
      { subject: get, payload: "[1]", tag: "InvalidRequest" },
      { subject: get, payload: JSON.stringify({ v: "1" }), tag: "InvalidRequest" },
      { subject: get, payload: new Uint8Array([0xff, 0x00, 0xfe, 0x7b]), tag: "InvalidRequest" },
      { subject: get, payload: JSON.stringify({ v: 99 }), tag: "UnsupportedProtocolVersion" },
      { subject: unauthorized, payload: "{not json", tag: "InvalidRequest" },
      { subject: unauthorized, payload: "", tag: "InvalidRequest" },
      { subject: unauthorized, payload: JSON.stringify({ v: 1 }), tag: "InvalidRequest" },
      { subject: unauthorized, payload: JSON.stringify({ v: 1, version: 0 }), tag: "InvalidRequest" },
      { subject: unauthorized, payload: JSON.stringify({ v: 1, version: -3 }), tag: "InvalidRequest" },
      { subject: unauthorized, payload: JSON.stringify({ v: 1, version: 1.5 }), tag: "InvalidRequest" },
      { subject: unauthorized, payload: JSON.stringify({ v: 1, version: "1" }), tag: "InvalidRequest" },
      {
        subject: unauthorized,
        payload: JSON.stringify({ v: 99, version: token.version }),
        tag: "UnsupportedProtocolVersion"
      },
      { subject: `${cluster.prefix}.token.nope.get`, payload: JSON.stringify({ v: 1 }), tag: "ProviderNotFound" },
      {
        subject: `${cluster.prefix}.token.nope.unauthorized`,
        payload: JSON.stringify({ v: 1, version: 1 }),
        tag: "ProviderNotFound"
      },
      { subject: `${cluster.prefix}.token.Project44.get`, payload: "", tag: "ProviderNotFound" }
    ]
    // Each case several times, so every replica sees most of them.
    const repeats = 6
    const results = await Promise.all(
      cases.flatMap((c) =>
        Array.from({ length: repeats }, async () => ({ c, reply: await cluster.request(c.subject, c.payload, 5000) }))
      )
    )
    for (const { c, reply } of results) {
      expect(reply.v).toBe(1)
      expect(reply.ok, `${c.subject} ${String(c.payload)}`).toBe(false)
      const error = expectError(reply, c.tag)
      if (c.tag === "UnsupportedProtocolVersion") {
        expect(error["requested"]).toBe(99)
        expect(error["supported"]).toEqual([1])
      }
      if (c.tag === "ProviderNotFound") expect(typeof error["provider"]).toBe("string")
    }

    // Nobody crashed: all three still run, and all three still answer good gets.
    expect(cluster.running).toHaveLength(3)
    const getSubject = `${cluster.prefix}.token.*.get`
    const before = await deliveredCounts(cluster.replicas, getSubject)
    const good = await Promise.all(Array.from({ length: 45 }, () => cluster.getToken()))
    for (const got of good) expect(got).toEqual(token)
    const after = await deliveredCounts(cluster.replicas, getSubject)
    for (const replica of cluster.replicas) {
      expect(
        (after.get(replica) ?? 0) - (before.get(replica) ?? 0),
        `${replica.name} stopped answering`
      ).toBeGreaterThan(0)
    }
    expect(cluster.sim.counters()).toMatchObject({ mints: 1, tokenRequests: 1 })
  })

  it("never writes the client secret or an access token to its logs", async () => {
    const { cluster } = fixture
    // Something to leak first: a minted token, served by every replica.
    await cluster.firstToken()
    await Promise.all(Array.from({ length: 30 }, () => cluster.getToken()))
    cluster.expectNoSecretsInLogs()
  })
})
