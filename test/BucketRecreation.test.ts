// An operator deletes tokenbus's KV buckets and creates them again (with
// @nats-io/kv, as `nats kv del` and `nats kv add` would) while three replica
// processes run against the real NATS server. Revisions start over at 1 in
// a recreated bucket; versions and terms must not.
//
// - The tokens bucket: a consumer (TokenbusClient) holding a token takes the
//   next one, and every replica serves it.
// - The leases bucket: a new leader is elected, fences the provider over the
//   old leader's fence, stays, and mints.
import { Kvm } from "@nats-io/kv"
import { connect } from "@nats-io/transport-node"
import { TokenbusClient } from "@tokenbus/client"
import { expectToken, type LogLine, logMsg, PROVIDER, type ReplicaCluster, sleep, waitUntil } from "@tokenbus/testing"
import { describe, expect, inject, it, onTestFinished } from "vitest"
import { clusterForTest, testLease } from "./support/ServiceFixture.ts"

/** Deletes the bucket and creates it with the options tokenbus gives it. */
const recreate = async (kvm: Kvm, name: string, options: { readonly history?: number; readonly ttl?: number }) => {
  await (await kvm.open(name)).destroy()
  await kvm.create(name, options)
}

/** Every replica's log lines matching `msg` since `marks` (log lengths taken earlier). */
const linesSince = (cluster: ReplicaCluster, marks: ReadonlyArray<number>, msg: string): Array<LogLine> =>
  cluster.replicas.flatMap((replica, index) => replica.lines(logMsg(msg, { provider: PROVIDER }), marks[index] ?? 0))

describe("a bucket deleted and created again under running replicas", () => {
  it("versions and terms go on growing: the consumer takes new tokens, a new leader stays", async () => {
    // Tokens are reported seconds after they are minted; the breaker would take that for bad credentials.
    const cluster = await clusterForTest({ replicas: 3, provider: { circuitBreaker: { freshTokenMillis: 0 } } })
    const nc = await connect({ servers: inject("natsUrl"), name: "bucket-recreation-operator" })
    onTestFinished(() => nc.close())
    const kvm = new Kvm(nc)
    const first = await cluster.firstToken()
    const client = await TokenbusClient.connect({ servers: [inject("natsUrl")], prefix: cluster.prefix })
    onTestFinished(() => client.close())
    expect((await client.getToken(PROVIDER)).version).toBe(first.version)

    const everyReplicaServes = async (version: number) => {
      const gets = await Promise.all(Array.from({ length: 30 }, () => cluster.getToken()))
      for (const got of gets) expect(got.version).toBe(version)
    }

    // The tokens bucket: its revisions start over, the versions of new tokens do not.
    await recreate(kvm, cluster.subjects.tokenBucket(), { history: 64 })
    const second = expectToken(await cluster.reportUnauthorized(first.version))
    expect(second.version).toBeGreaterThan(first.version)
    await waitUntil(() => client.peek(PROVIDER)?.version === second.version, 5000, "the client ignored the new token")
    await everyReplicaServes(second.version)
    // The state is back in the new bucket, at a revision that started over; the version kept growing.
    const stored = await (await kvm.open(cluster.subjects.tokenBucket())).get(PROVIDER)
    expect(stored?.revision).toBeLessThan(10)
    expect(stored?.json<{ token: { version: number } }>().token.version).toBe(second.version)

    // The leases bucket: a new leader, with a term above the old one, that stays.
    const oldLeader = cluster.leader()
    expect(oldLeader).toBeDefined()
    const oldTerm = Number(oldLeader!.line["term"])
    const marks = cluster.replicas.map((replica) => replica.logs.length)
    await recreate(kvm, `${cluster.prefix}-leases`, { ttl: testLease.ttlMillis })
    await waitUntil(
      () => linesSince(cluster, marks, "became leader").length > 0,
      15_000,
      "nobody became leader after the leases bucket was recreated"
    )
    // Several lease lengths: a leader deposed by the old fence would step down, and another would follow.
    await sleep(4 * testLease.ttlMillis)
    const elected = linesSince(cluster, marks, "became leader")
    expect(elected).toHaveLength(1)
    expect(Number(elected[0]!["term"])).toBeGreaterThan(oldTerm)
    expect(linesSince(cluster, marks, "cannot fence the provider; stepping down")).toEqual([])

    const third = expectToken(await cluster.reportUnauthorized(second.version))
    expect(third.version).toBeGreaterThan(second.version)
    await waitUntil(() => client.peek(PROVIDER)?.version === third.version, 5000, "the client ignored the new token")
    await everyReplicaServes(third.version)
    expect(cluster.sim.counters()).toMatchObject({ mints: 3 })
    cluster.expectNoSecretsInLogs()
  })
})
