// Metrics, probes and NATS service discovery on real replica processes
// (packages/service/src/observe/): each replica serves /healthz, /readyz and
// /metrics on its own port (ReplicaConfig.ts gives each a free one) and
// registers as the NATS micro service `tokenbus`. Counters are read before
// and after what should move them, on the replica that should move them.
import { readFileSync } from "node:fs"
import {
  expectToken,
  freePorts,
  httpGet,
  logMsg,
  PROVIDER,
  type ReplicaCluster,
  type ReplicaProcess,
  scrape,
  startCluster,
  startNatsServer,
  stopAllReplicas,
  waitUntil
} from "@tokenbus/testing"
import { afterAll, describe, expect, it } from "vitest"
import { testLease, useReplicaCluster } from "./support/ServiceFixture.ts"

const serviceVersion = (JSON.parse(
  readFileSync(new URL("../packages/service/package.json", import.meta.url), "utf8")
) as { version: string }).version

const provider = { provider: PROVIDER }

/** The replica that logged the latest mint: the provider's leader. */
const minter = (cluster: ReplicaCluster): ReplicaProcess => {
  const lines = cluster.linesOfAll(logMsg("minted and committed a token", provider))
  const last = lines[lines.length - 1]
  if (last === undefined) throw new Error("no replica minted")
  return last.replica
}

/** One metric summed over every replica of the cluster. */
const clusterTotal = async (cluster: ReplicaCluster, name: string, where: Record<string, string> = {}) => {
  const pages = await Promise.all(cluster.running.map(scrape))
  return pages.reduce((sum, page) => sum + page.total(name, where), 0)
}

const replicaIdOf = (replica: ReplicaProcess): string => {
  const id = replica.lines(logMsg("replica ready"))[0]?.["replica"]
  if (typeof id !== "string") throw new Error(`${replica.name} logged no replica id`)
  return id
}

/** Every answer to a `$SRV` request within `maxWait`, parsed, for this cluster's replicas only. */
const discover = async (cluster: ReplicaCluster, subject: string): Promise<Array<Record<string, unknown>>> => {
  const answers: Array<Record<string, unknown>> = []
  for await (const message of await cluster.nats.requestMany(subject, "", { maxWait: 1500, strategy: "timer" })) {
    const answer = message.json<Record<string, unknown>>()
    const metadata = answer["metadata"] as Record<string, string> | undefined
    if (metadata?.["prefix"] === cluster.prefix) answers.push(answer)
  }
  return answers
}

describe("metrics, probes and discovery of a cluster of three replicas", () => {
  const shared = useReplicaCluster({ replicas: 3 })

  it("every replica is alive, and ready once it holds the token", async () => {
    const cluster = shared.cluster
    await cluster.firstToken()
    for (const replica of cluster.replicas) {
      const alive = await httpGet(replica, "/healthz")
      expect(alive.status).toBe(200)
      expect(JSON.parse(alive.text)).toEqual({ status: "alive" })
      await waitUntil(async () => (await httpGet(replica, "/readyz")).status === 200, 10_000, `${replica.name} ready`)
      expect(JSON.parse((await httpGet(replica, "/readyz")).text)).toEqual({ status: "ready" })
      expect((await httpGet(replica, "/nothing-here")).status).toBe(404)
      const metrics = await httpGet(replica, "/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.contentType).toContain("text/plain")
      // The process's own metrics are there beside tokenbus's.
      expect(metrics.text).toContain("process_cpu_seconds_total")
    }
  })

  it("a mint after a 401 moves the leader's counters; the same report again is deduplicated", async () => {
    const cluster = shared.cluster
    const first = await cluster.firstToken()
    // The leader that stays, not the replica that minted first: the provider moves as replicas join.
    const leader = (await cluster.settledLeader()).replica
    const before = await scrape(leader)
    const reportsBefore = await clusterTotal(cluster, "tokenbus_unauthorized_reports_total", provider)
    const dedupBefore = await clusterTotal(cluster, "tokenbus_unauthorized_deduplicated_total", provider)
    const mintsBefore = cluster.sim.counters().mints
    const afterReport = { ...provider, reason: "unauthorized-report", outcome: "committed" }
    const upstreamOk = { ...provider, outcome: "ok" }

    const fresh = expectToken(await cluster.reportUnauthorized(first.version))
    expect(fresh.version).toBeGreaterThan(first.version)
    expect(minter(cluster)).toBe(leader)
    const after = await scrape(leader)
    expect(after.total("tokenbus_mints_total", afterReport)).toBe(before.total("tokenbus_mints_total", afterReport) + 1)
    expect(after.total("tokenbus_upstream_call_seconds_count", upstreamOk))
      .toBe(before.total("tokenbus_upstream_call_seconds_count", upstreamOk) + 1)
    expect(await clusterTotal(cluster, "tokenbus_unauthorized_reports_total", provider)).toBe(reportsBefore + 1)
    // At most 5 calls a minute (the default budget), two of them spent by now.
    expect(after.value("tokenbus_budget_remaining", provider)).toBeLessThanOrEqual(3)
    expect(after.value("tokenbus_breaker_open", provider)).toBe(0)

    // The followers received the new token by broadcast, and timed it.
    for (const follower of cluster.replicas.filter((replica) => replica !== leader)) {
      await waitUntil(
        async () => (await scrape(follower)).total("tokenbus_broadcast_lag_seconds_count") >= 1,
        10_000,
        `${follower.name} timed no broadcast`
      )
    }

    // The same stale version reported again: answered with the new token, no mint.
    const again = expectToken(await cluster.reportUnauthorized(first.version))
    expect(again.version).toBe(fresh.version)
    expect(cluster.sim.counters().mints).toBe(mintsBefore + 1)
    expect(await clusterTotal(cluster, "tokenbus_unauthorized_reports_total", provider)).toBe(reportsBefore + 2)
    expect(await clusterTotal(cluster, "tokenbus_unauthorized_deduplicated_total", provider)).toBe(dedupBefore + 1)
    expect((await scrape(leader)).total("tokenbus_mints_total", afterReport))
      .toBe(after.total("tokenbus_mints_total", afterReport))
  })

  it("tokens served from memory are counted as cache hits", async () => {
    const cluster = shared.cluster
    await cluster.firstToken()
    const servedBefore = await clusterTotal(cluster, "tokenbus_tokens_served_total", { ...provider, source: "cache" })
    const hitsBefore = await clusterTotal(cluster, "tokenbus_cache_hits_total", provider)
    for (let i = 0; i < 30; i++) await cluster.getToken()
    expect(await clusterTotal(cluster, "tokenbus_tokens_served_total", { ...provider, source: "cache" }))
      .toBe(servedBefore + 30)
    expect(await clusterTotal(cluster, "tokenbus_cache_hits_total", provider)).toBe(hitsBefore + 30)
  })

  it("$SRV.PING and $SRV.INFO list every replica with its status endpoint, which answers its view", async () => {
    const cluster = shared.cluster
    const first = await cluster.firstToken()
    const ids = cluster.replicas.map(replicaIdOf).sort()
    expect(new Set(ids).size).toBe(3)
    for (const subject of ["$SRV.PING", "$SRV.PING.tokenbus"]) {
      const pings = await discover(cluster, subject)
      expect(pings.map((ping) => (ping["metadata"] as Record<string, string>)["replica"]).sort()).toEqual(ids)
      for (const ping of pings) expect(ping).toMatchObject({ name: "tokenbus", version: serviceVersion })
    }
    const infos = await discover(cluster, "$SRV.INFO.tokenbus")
    expect(infos).toHaveLength(3)
    for (const info of infos) {
      const id = (info["metadata"] as Record<string, string>)["replica"]
      const status = `${cluster.prefix}.replica.${id}.status`
      expect(info["endpoints"]).toEqual([expect.objectContaining({ name: "status", subject: status })])
      const view = (await cluster.nats.request(status, "", { timeout: 5_000 })).json<Record<string, unknown>>()
      expect(view).toMatchObject({ replica: id, version: serviceVersion, prefix: cluster.prefix })
      const held = (view["providers"] as Array<Record<string, unknown>>)[0]
      expect(held).toMatchObject({ id: PROVIDER })
      expect(held?.["version"]).toBeGreaterThanOrEqual(first.version)
    }
    const stats = await discover(cluster, "$SRV.STATS.tokenbus")
    expect(stats).toHaveLength(3)
    for (const stat of stats) {
      expect(stat["endpoints"]).toEqual([expect.objectContaining({ name: "status", num_requests: 1 })])
    }
  })
})

describe("the probes of a replica whose NATS goes away", () => {
  afterAll(() => stopAllReplicas())

  it("/readyz is 503 until the first token is held, 200 then; both are 503 without NATS, 200 once it is back", async () => {
    const [port] = await freePorts(1)
    const natsUrl = `nats://127.0.0.1:${port}`
    let nats = await startNatsServer({ port: port! })
    // A slow upstream: the first mint takes seconds, long enough to see the replica not ready yet.
    const cluster = await startCluster({ natsUrl, replicas: 1, lease: testLease, sim: { latencyMs: 4_000 } })
    try {
      const [replica] = cluster.replicas
      if (replica === undefined) throw new Error("no replica")
      const early = await httpGet(replica, "/readyz")
      expect(early.status).toBe(503)
      expect(JSON.parse(early.text)).toEqual({ status: "unavailable", reason: `no token for ${PROVIDER} yet` })
      expect((await httpGet(replica, "/healthz")).status).toBe(200)

      await cluster.firstToken()
      await waitUntil(async () => (await httpGet(replica, "/readyz")).status === 200, 10_000, "ready with a token")

      await nats.stop()
      await waitUntil(async () => (await httpGet(replica, "/healthz")).status === 503, 10_000, "not alive without NATS")
      const down = await httpGet(replica, "/readyz")
      expect(down.status).toBe(503)
      expect(JSON.parse(down.text)).toEqual({ status: "unavailable", reason: "NATS is not connected" })

      nats = await startNatsServer({ port: port! })
      await waitUntil(async () => (await httpGet(replica, "/healthz")).status === 200, 20_000, "alive with NATS back")
      await waitUntil(async () => (await httpGet(replica, "/readyz")).status === 200, 10_000, "ready with NATS back")
    } finally {
      await cluster.stop()
      await nats.stop()
    }
  })
})
