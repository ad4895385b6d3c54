// The operator's commands against a real cluster: three replica processes,
// the run's NATS server, the simulated project44. `tokenbus status --json`
// must name the leader the replicas' own log lines name and the version they
// serve; `tokenbus rotate` must cost exactly one upstream call and answer
// with the new version; `tokenbus watch --json` must report that rotation
// and never a token; after the leader is killed, both must follow the fence
// to the new leader.
//
// One cluster serves the file. Each test reads the cluster as it finds it
// (leader, version, counters), so any of them can run alone; the failover
// test runs last since it leaves one replica fewer. At most 4 mints a run,
// within the default budget (5 a minute). The edges (Ctrl-C, a spent
// budget, a tripped breaker) each get a cluster of their own.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import {
  currentLeader,
  expectError,
  expectToken,
  logMsg,
  PROVIDER,
  type ReplicaCluster,
  type ReplicaProcess,
  sleep,
  waitUntil
} from "@tokenbus/testing"
import { describe, expect, it } from "vitest"
import { runCli } from "./support/runCli.ts"
import { clusterForTest, useReplicaCluster } from "./support/ServiceFixture.ts"

const bin = fileURLToPath(new URL("../packages/service/src/bin.ts", import.meta.url))

const connection = (cluster: ReplicaCluster) => ["--servers", cluster.natsUrl, "--prefix", cluster.prefix]

interface StatusJson {
  readonly replicas: ReadonlyArray<{ readonly id: string }>
  readonly providers: ReadonlyArray<{
    readonly provider: string
    readonly leader: { readonly replica: string; readonly term: number; readonly member: boolean } | null
    readonly token: { readonly version: number; readonly reason: string; readonly ageMillis: number } | null
    readonly budget: { readonly left: number; readonly tokens: number; readonly limitFrom: string }
    readonly breaker: { readonly open: boolean; readonly reason: string | null; readonly since: string | null }
  }>
}

const statusJson = async (cluster: ReplicaCluster, flags = connection(cluster)): Promise<StatusJson> => {
  const run = await runCli(["status", "--json", ...flags])
  expect(run.code, run.output).toBe(0)
  return JSON.parse(run.output) as StatusJson
}

const providerOf = (status: StatusJson) => {
  const found = status.providers.find((provider) => provider.provider === PROVIDER)
  if (found === undefined) throw new Error(`status lists no ${PROVIDER}: ${JSON.stringify(status)}`)
  return found
}

/** The leader as the replicas' logs say: its replica id and term. */
const loggedLeader = (cluster: ReplicaCluster) => {
  const leader = currentLeader(cluster.running, PROVIDER)
  if (leader === undefined) throw new Error("no replica logged becoming leader")
  return { replica: String(leader.line["replica"]), term: Number(leader.line["term"] ?? leader.revision), leader }
}

/** The ids replicas log under, sorted as status lists them. */
const replicaIds = (replicas: ReadonlyArray<ReplicaProcess>) =>
  replicas.map((replica) => String(replica.logs.find((line) => line["replica"] !== undefined)?.["replica"])).sort()

/** `tokenbus watch` as a child process: resolves once it says it is watching, and with everything it printed. */
const startWatch = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [bin, "watch", ...args])
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
  const ready = waitUntil(() => stderr.includes("watching"), 15_000, "tokenbus watch did not start")
  return { child, ready, exited, output: () => ({ stdout, stderr }) }
}

const eventsOf = (stdout: string) =>
  stdout.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Record<string, unknown>)

describe("tokenbus status, rotate and watch", () => {
  const fixture = useReplicaCluster({ replicas: 3 })

  it("status --json names the leader the logs name and the version the replicas serve", async () => {
    const { cluster } = fixture
    const served = await cluster.firstToken()
    const logged = loggedLeader(cluster)
    const status = await statusJson(cluster)
    const provider = providerOf(status)
    expect(provider.leader).toEqual({ replica: logged.replica, term: logged.term, member: true })
    expect(provider.token?.version).toBe(served.version)
    expect(provider.token?.reason).toBe(served.reason)
    expect(provider.breaker.open).toBe(false)
    expect(provider.budget.tokens).toBe(5)
    expect(provider.budget.left).toBe(5 - cluster.sim.counters().tokenRequests)
    // The live members: every running replica, as its own log lines name it.
    expect(status.replicas.map((replica) => replica.id)).toEqual(replicaIds(cluster.running))
    expect(JSON.stringify(status)).not.toContain(served.accessToken)

    const table = await runCli(["status", ...connection(cluster)])
    expect(table.code, table.output).toBe(0)
    const row = new RegExp(`^${PROVIDER}\\s+${logged.replica}\\s+${logged.term}\\s+${served.version}\\s`, "m")
    expect(table.output).toMatch(row)
    expect(table.output).not.toContain(served.accessToken)
  })

  it("rotate mints one new token, and watch reports it without the token", async () => {
    const { cluster } = fixture
    const before = await cluster.firstToken()
    const counters = cluster.sim.counters()
    const watch = startWatch(["--json", "--count", "2", "--for", "30", ...connection(cluster)])
    await watch.ready

    const run = await runCli(["rotate", PROVIDER, "--json", ...connection(cluster)])
    expect(run.code, run.output).toBe(0)
    const rotated = JSON.parse(run.output) as Record<string, unknown>
    expect(rotated).toMatchObject({ provider: PROVIDER, rotated: true, reason: "operator" })
    expect(rotated["previousVersion"]).toBe(before.version)
    expect(rotated["version"]).toBeGreaterThan(before.version)
    expect(cluster.sim.counters().tokenRequests).toBe(counters.tokenRequests + 1)
    expect((await cluster.getToken()).version).toBe(rotated["version"])

    await watch.exited
    const { stdout } = watch.output()
    const events = eventsOf(stdout)
    expect(events).toContainEqual(expect.objectContaining({
      event: "token",
      provider: PROVIDER,
      version: rotated["version"],
      reason: "operator"
    }))
    for (const token of cluster.sim.issuedTokens()) expect(stdout).not.toContain(token)
    expect(run.output).not.toContain((await cluster.getToken()).accessToken)
  })

  it("watch and status follow the fence to the new leader when the leader is killed", async () => {
    const { cluster } = fixture
    await cluster.firstToken()
    const old = loggedLeader(cluster)
    const watch = startWatch(["--json", "--count", "1", "--for", "40", ...connection(cluster)])
    await watch.ready
    await old.leader.replica.stop("SIGKILL")
    await cluster.waitForLeader(30_000, old.leader.revision)
    await watch.exited
    const next = loggedLeader(cluster)
    expect(next.replica).not.toBe(old.replica)
    const events = eventsOf(watch.output().stdout)
    expect(events).toEqual([expect.objectContaining({
      event: "leader",
      provider: PROVIDER,
      replica: next.replica,
      term: next.term,
      previous: { replica: old.replica, term: old.term }
    })])
    // The new leader adopted the token: no mint, and status says who leads now.
    await waitUntil(
      () => cluster.linesOfAll(logMsg("adopted the stored token", { provider: PROVIDER })).length > 0,
      10_000,
      "the new leader did not adopt the token"
    )
    const leads = providerOf(await statusJson(cluster)).leader
    expect(leads).toEqual({ replica: next.replica, term: next.term, member: true })
    // The killed replica's member key expires (the server's expiry lags by up to about a second).
    let listed = (await statusJson(cluster)).replicas.map((replica) => replica.id)
    for (let tries = 0; tries < 10 && listed.includes(old.replica); tries++) {
      await sleep(500)
      listed = (await statusJson(cluster)).replicas.map((replica) => replica.id)
    }
    expect(listed).toEqual(replicaIds(cluster.running))
  })
})

describe("tokenbus status, watch and rotate at the edges", () => {
  it("watch stops at once and cleanly on Ctrl-C", async () => {
    const cluster = await clusterForTest({ replicas: 1 })
    await cluster.firstToken()
    const watch = startWatch(connection(cluster))
    await watch.ready
    const started = performance.now()
    watch.child.kill("SIGINT")
    expect(await watch.exited).toBe(0)
    expect(performance.now() - started).toBeLessThan(5000)
  })

  it("with the budget spent, rotate and reset say when the leader mints, and status counts the configured limit", async () => {
    const cluster = await clusterForTest({ replicas: 2, provider: { rateLimit: { tokens: 1, windowMillis: 60_000 } } })
    const first = await cluster.firstToken()
    const requests = cluster.sim.counters().tokenRequests
    const config = ["--config", cluster.replicas[0]?.configPath ?? ""]
    const run = await runCli(["rotate", PROVIDER, "--json", ...config])
    expect(run.code, run.output).toBe(0)
    const answer = JSON.parse(run.output) as Record<string, unknown>
    expect(answer).toMatchObject({ rotated: false, version: first.version, previousVersion: first.version })
    const expectedAt = Date.parse(String(answer["renewalExpectedAt"]))
    // The one call of the window went at the first mint; the next goes a window later.
    expect(expectedAt).toBeGreaterThan(first.issuedAt + 55_000)
    expect(expectedAt).toBeLessThan(first.issuedAt + 65_000)
    expect(cluster.sim.counters().tokenRequests).toBe(requests)
    // reset joins the same waiting mint, and says so rather than "new token".
    const reset = await runCli(["reset", PROVIDER, ...config])
    expect(reset.code, reset.output).toBe(0)
    expect(reset.output).toContain(`${PROVIDER}: the rate budget is spent; the leader mints at `)
    expect(reset.output).not.toContain("new token")
    expect(cluster.sim.counters().tokenRequests).toBe(requests)
    const budget = providerOf(await statusJson(cluster, config)).budget
    expect(budget).toMatchObject({ tokens: 1, left: 0, limitFrom: "config" })
  })

  it("status and watch show a tripped breaker; rotate refuses it, costing nothing, and names reset", async () => {
    const cluster = await clusterForTest({ replicas: 2 })
    const first = await cluster.firstToken()
    const watch = startWatch(["--json", "--for", "30", ...connection(cluster)])
    await watch.ready
    // A token minted for a 401 and itself reported at once: the breaker's fresh-token rule trips.
    const fresh = expectToken(await cluster.reportUnauthorized(first.version))
    expectError(await cluster.reportUnauthorized(fresh.version), "CredentialsRejected")
    await waitUntil(() => watch.output().stdout.includes(`"event":"breaker"`), 10_000, "watch saw no breaker event")
    watch.child.kill("SIGINT")
    expect(await watch.exited).toBe(0)
    const opened = eventsOf(watch.output().stdout).find((event) => event["event"] === "breaker")
    expect(opened).toMatchObject({ provider: PROVIDER, open: true })
    expect(String(opened?.["reason"])).toContain("refused at once")

    const breaker = providerOf(await statusJson(cluster)).breaker
    expect(breaker).toEqual({ open: true, reason: opened?.["reason"], since: opened?.["since"] })
    const requests = cluster.sim.counters().tokenRequests
    const refused = await runCli(["rotate", PROVIDER, ...connection(cluster)])
    expect(refused.code).toBe(1)
    expect(refused.output).toContain(`tokenbus reset ${PROVIDER}`)
    expect(cluster.sim.counters().tokenRequests).toBe(requests)
    expect((await cluster.getToken()).version).toBe(fresh.version)
  })
})
