// Providers change while the cluster runs: each replica reads its file again
// on SIGHUP. A provider added gets led and its first token; one removed is
// answered with ProviderNotFound by every replica; a file that does not
// decode is refused and changes nothing; and the provider that stayed
// notices none of it: same token, same leader, no mint.
import { readFile, writeFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { getPayload, logMsg, PROVIDER, type ReplicaCluster, type WireReply } from "@tokenbus/testing"
import { useReplicaCluster } from "./support/ServiceFixture.ts"

const ADDED = "carrier-2"

describe("providers changed at run time", () => {
  const fixture = useReplicaCluster({ replicas: 3 })

  /** Rewrites every replica's file with `edit`, sends SIGHUP, and waits until each has logged `settled`. */
  const reload = async (cluster: ReplicaCluster, edit: (config: Config) => string, settled: string) => {
    const marks = cluster.running.map((replica) => replica.logs.length)
    for (const replica of cluster.running) {
      const config = JSON.parse(await readFile(replica.configPath, "utf8")) as Config
      await writeFile(replica.configPath, edit(config))
      replica.child.kill("SIGHUP")
    }
    await Promise.all(cluster.running.map((replica, i) => replica.waitForLog(logMsg(settled), 10_000, marks[i])))
  }

  const getOf = (cluster: ReplicaCluster, provider: string): Promise<WireReply> =>
    cluster.request(`${cluster.prefix}.token.${provider}.get`, getPayload)

  it("a provider added gets its first token, a removed one is not found, and the one that stayed notices neither", async () => {
    const { cluster } = fixture
    const first = await cluster.firstToken()
    const leader = await cluster.settledLeader()
    const before = cluster.sim.counters().mints
    const marks = new Map(cluster.replicas.map((replica) => [replica, replica.logs.length]))

    await reload(cluster, (config) => {
      const [p44] = config.providers
      return JSON.stringify({ ...config, providers: [p44, { ...p44, id: ADDED }] })
    }, "reloaded the providers")
    const added = await getOf(cluster, ADDED)
    if (!added.ok) throw new Error(`no token for the added provider: ${JSON.stringify(added)}`)
    expect(added.token.provider).toBe(ADDED)
    expect(cluster.sim.counters().mints).toBe(before + 1)
    expect(cluster.linesOfAll(logMsg("became leader", { provider: ADDED }))).toHaveLength(1)

    await reload(cluster, (config) => JSON.stringify({ ...config, providers: [config.providers[0]] }), "reloaded the providers")
    // Every replica (NATS picks one per request) answers the removed provider with ProviderNotFound.
    for (let i = 0; i < 12; i++) {
      const removed = await getOf(cluster, ADDED)
      expect(removed.ok ? "a token" : removed.error._tag).toBe("ProviderNotFound")
    }
    expect(cluster.linesOfAll(logMsg("stepped down", { provider: ADDED }))).toHaveLength(1)

    await reload(cluster, () => "{ not json", "reload refused: the configuration kept in use")

    // project44 noticed nothing: the same token, the same leader, no mint, no handover.
    expect(await cluster.getToken()).toEqual(first)
    expect(cluster.sim.counters().mints).toBe(before + 1)
    for (const replica of cluster.replicas) {
      const from = marks.get(replica)
      expect(replica.lines(logMsg("became leader", { provider: PROVIDER }), from)).toEqual([])
      expect(replica.lines(logMsg("stepped down", { provider: PROVIDER }), from)).toEqual([])
    }
    expect((await cluster.settledLeader()).replica).toBe(leader.replica)
    cluster.expectNoSecretsInLogs()
  })
})

interface Config {
  readonly providers: ReadonlyArray<Record<string, unknown>>
}
