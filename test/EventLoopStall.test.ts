// A leader whose event loop stalls is not failed over, and a dead one is,
// quickly, at the service's DEFAULT lease (1.5 s TTL, renewed every 300 ms,
// 500 ms margin: the replicas' config has no `lease`). Three replica
// processes lead six providers (all against one simulated project44) by
// rendezvous hashing over the live members; the leader of the most is
// SIGSTOPped for 500 ms a few times (its event loop stalls, its member key
// goes unrenewed for up to 800 ms), which must change nothing: nobody else
// becomes leader of anything, it neither steps down nor leaves, nothing is
// minted. Then it is SIGKILLed, and every one of its providers must have a
// "became leader" line from another replica within 2 s.
import {
  logMsg,
  PROVIDER,
  randomPrefix,
  replicaConfig,
  type ReplicaProcess,
  SECRET_ENV,
  settledLeader,
  sleep,
  startReplicas,
  startUpstream,
  type Upstream,
  waitUntil
} from "@tokenbus/testing"
import { afterAll, describe, expect, inject, it } from "vitest"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

const PROVIDERS = [PROVIDER, "p44-b", "p44-c", "p44-d", "p44-e", "p44-f"]
const STALL_MILLIS = 500
const STALLS = 4
const FAILOVER_BOUND_MILLIS = 2000

/** The replicas' config: the harness's one provider, plus five more against the same upstream, no `lease`. */
const clusterConfig = (upstream: Upstream) => {
  const config = replicaConfig({ natsUrl: inject("natsUrl"), prefix: randomPrefix(), upstream })
  const [first] = config["providers"] as Array<Record<string, unknown>>
  expect(config["lease"]).toBeUndefined()
  return { ...config, providers: PROVIDERS.map((id) => ({ ...first, id })) }
}

const leadersOf = (replicas: ReadonlyArray<ReplicaProcess>) =>
  new Map(PROVIDERS.map((provider) => [provider, settledLeader(replicas, provider)?.replica]))

describe("event loop stalls at the default lease", () => {
  useReplicaCleanup()
  let upstream: Upstream | undefined
  afterAll(() => upstream?.sim.close())

  it("a 500 ms stall fails nothing over; a SIGKILL moves every provider within 2 s", async () => {
    upstream = await startUpstream({ tokensPerMinute: 600, burst: 50 })
    const config = clusterConfig(upstream)
    const replicas = await startReplicas(3, config, {
      namePrefix: "stall",
      env: { [SECRET_ENV]: upstream.clientSecret },
      logLevel: "Info"
    })
    const minted = (provider: string) =>
      replicas.some((replica) => replica.hasLog(logMsg("minted and committed a token", { provider })))
    await waitUntil(
      () => PROVIDERS.every((p) => settledLeader(replicas, p) !== undefined && minted(p)),
      30_000,
      "the replicas did not settle on a leader with a token for every provider"
    )
    // Let any handover under way when they settled finish (a handover is 2 × renewEvery = 600 ms).
    await sleep(2000)
    const leaders = leadersOf(replicas)
    const counts = new Map<ReplicaProcess, Array<string>>()
    for (const [provider, leader] of leaders) {
      if (leader !== undefined) counts.set(leader, [...(counts.get(leader) ?? []), provider])
    }
    const [victim, owned] = [...counts].sort(([, a], [, b]) => b.length - a.length)[0]!
    const others = replicas.filter((replica) => replica !== victim)
    const mintsBefore = upstream.sim.counters().mints
    const marks = new Map(replicas.map((replica) => [replica, replica.logs.length]))
    const since = (replica: ReplicaProcess, msg: string) => replica.lines(logMsg(msg), marks.get(replica))

    for (let stall = 0; stall < STALLS; stall++) {
      victim.kill("SIGSTOP")
      await sleep(STALL_MILLIS)
      victim.kill("SIGCONT")
      await sleep(1500)
    }
    // What a failover would show has had time to show: a lapsed member is taken for dead 1.5 s after its last renewal.
    await sleep(2000)
    const foreign = others.flatMap((replica) =>
      since(replica, "became leader").map((line) => `${replica.name} ${line.provider}`)
    )
    expect(foreign, "another replica became leader during the stalls").toEqual([])
    for (const msg of ["stepped down", "left the cluster", "became leader", "joined the cluster"]) {
      expect(since(victim, msg).map((line) => line.provider ?? "-"), `${victim.name} logged "${msg}"`).toEqual([])
    }
    expect(upstream.sim.counters().mints).toBe(mintsBefore)
    expect(leadersOf(replicas)).toEqual(leaders)

    const killedAt = victim.kill("SIGKILL")
    await victim.exited
    const tookOver = (provider: string) =>
      others.flatMap((replica) => replica.lines(logMsg("became leader", { provider }), marks.get(replica)))[0]
    await waitUntil(() => owned.every((provider) => tookOver(provider) !== undefined), 10_000, "no new leader")
    const times = owned.map((provider) => tookOver(provider)!.time - killedAt)
    const failover = Math.max(...times)
    process.stderr.write(
      `[measure] SIGKILL of the leader of ${owned.length} of ${PROVIDERS.length} providers → every one led by ` +
        `another replica after ${failover} ms (each: ${times.join(", ")} ms); ` +
        `${STALLS} stalls of ${STALL_MILLIS} ms: no failover\n`
    )
    expect(failover).toBeLessThan(FAILOVER_BOUND_MILLIS)
    // The new leaders adopt the stored tokens: the failover costs no mint.
    for (const provider of owned) {
      const next = others.find((r) => r.hasLog(logMsg("became leader", { provider }), marks.get(r)))!
      await next.waitForLog(logMsg("adopted the stored token", { provider }), 5000, marks.get(next))
    }
    expect(upstream.sim.counters().mints).toBe(mintsBefore)
  }, 90_000)
})
