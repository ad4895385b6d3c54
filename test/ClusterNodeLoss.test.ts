// tokenbus on a three-node NATS cluster (test/support/NatsCluster.ts):
// losing any one server leaves elections, minting and serving working, and
// the KV buckets' settings (TTL, replicas, history) are reconciled at start.
//
// The node-loss tests each start three replica processes, configured with
// all three NATS URLs, on fresh buckets (the default: three replicas each),
// then SIGKILL one server: the one leading the leases bucket's stream, the
// one leading the tokens bucket's, or one leading neither. At once the
// leader replica is SIGKILLed too and a consumer reports a 401: a successor
// is elected and mints exactly one new token, and the consumer's gets are
// answered throughout. Then the server comes back, and every committed
// token is still in the bucket.
//
// The bound. A stream whose leader died elects another after a Raft
// election timeout of 4 to 9 s (nats-server's raft.go) plus its campaign (up
// to 0.8 s); until then its KV writes fail: no lock can be taken in the
// leases bucket, no fence or token written in the tokens bucket. The dead
// leader's lock lapses one lease TTL (3 s here) after its last renewal,
// within that time. So the report sent at the kill gets its new token within
// 15 s: 10 s for the election, the rest for a campaign round (every 375 ms),
// the fence, the mint, and the consumer asking again after a
// `TokenUnavailable` (replicas wait 5 s for a leader).
//
// The settings tests restart a replica with another lease TTL and replica
// count and read the streams' configuration back, and start one with a
// replica count a single server refuses: it stops with one line on stderr.
import { jetstreamManager, type StreamConfig } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import {
  getPayload,
  logMsg,
  parseReply,
  PROVIDER,
  randomPrefix,
  ReplicaCluster,
  replicaConfig,
  SECRET_ENV,
  sleep,
  spawnReplica,
  startReplicas,
  startUpstream,
  waitUntil,
  type WireToken
} from "@tokenbus/testing"
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed, onTestFinished } from "vitest"
import { type NatsCluster, type NatsClusterNode, startNatsCluster } from "./support/NatsCluster.ts"
import { testLease } from "./support/ServiceFixture.ts"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

const NEW_TOKEN_BOUND_MS = 15_000
/** Replicas answer within `requestTimeoutMillis` (5 s), leader or not; a report lost with a replica is sent again. */
const REPORT_TIMEOUT_MS = 6_000

let nats: NatsCluster | undefined
const natsCluster = (): NatsCluster => {
  if (nats === undefined) throw new Error("the NATS cluster did not start")
  return nats
}

beforeAll(async () => {
  nats = await startNatsCluster()
})
afterAll(async () => {
  await nats?.stop()
})
useReplicaCleanup()

interface DeploymentOptions {
  readonly servers: ReadonlyArray<string>
  /** Replica processes; default 3. */
  readonly processes?: number
  /** Fields of the config's `nats` beside `servers` (`replicas`). */
  readonly nats?: Readonly<Record<string, unknown>>
  /** Absent: the service's default lease. */
  readonly lease?: typeof testLease
}

/** Replica processes of one deployment (its own prefix and upstream) on `servers`, stopped when the test ends. */
const startDeployment = async (options: DeploymentOptions): Promise<ReplicaCluster> => {
  const upstream = await startUpstream()
  const prefix = randomPrefix()
  const base = replicaConfig({
    natsUrl: options.servers[0]!,
    prefix,
    upstream,
    ...(options.lease === undefined ? {} : { lease: options.lease })
  })
  const config = { ...base, nats: { servers: options.servers, ...options.nats } }
  const replicaOptions = { env: { [SECRET_ENV]: upstream.clientSecret } }
  const replicas = await startReplicas(options.processes ?? 3, config, { ...replicaOptions, namePrefix: "replica" })
  const connection = await connect({ servers: [...options.servers], name: `${prefix}-wire` })
  const natsUrl = options.servers.join(",")
  const fields = { name: "replica", natsUrl, prefix, upstream, config, replicas, replicaOptions, nats: connection }
  const cluster = new ReplicaCluster({ ...fields, ownsConnection: true })
  onTestFailed(() => {
    process.stderr.write(`\n===== replica logs =====\n${cluster.dump()}\n`)
  })
  onTestFinished(() => cluster.stop())
  return cluster
}

const streamConfig = async (connection: NatsConnection, bucket: string): Promise<StreamConfig> =>
  (await (await jetstreamManager(connection)).streams.info(`KV_${bucket}`)).config

interface GetOutcome {
  /** When the get was sent (Date.now()). */
  readonly sentAt: number
  readonly version?: number
  readonly error?: string
}

/**
 * Raw gets through `connection`, one after another 100 ms apart, until
 * stopped. Raw requests, not a TokenClient, which would answer from its own
 * memory. The timeout is the one test/Failover.test.ts gives its gets.
 */
const startGetLoop = (connection: NatsConnection, subject: string) => {
  const outcomes: Array<GetOutcome> = []
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      const sentAt = Date.now()
      try {
        const reply = parseReply((await connection.request(subject, getPayload, { timeout: 2000 })).string())
        outcomes.push(reply.ok ? { sentAt, version: reply.token.version } : { sentAt, error: reply.error._tag })
      } catch (error) {
        outcomes.push({ sentAt, error: String(error) })
      }
      await sleep(100)
    }
  })()
  return { outcomes, stop: () => ((stopped = true), done) }
}

/**
 * Every get was answered with a token no older than `first`, except that one
 * in flight to a replica or through a server as it is killed is lost: never
 * two in a row.
 */
const expectGetsAnswered = (outcomes: ReadonlyArray<GetOutcome>, first: WireToken, killedAt: number) => {
  const failed = outcomes.filter((outcome) => outcome.error !== undefined)
  const described = JSON.stringify(failed.map((outcome) => ({ ...outcome, afterKillMs: outcome.sentAt - killedAt })))
  const twiceInARow = outcomes.some((outcome, i) => outcome.error !== undefined && outcomes[i + 1]?.error !== undefined)
  expect(twiceInARow, `gets failed twice in a row: ${described}`).toBe(false)
  expect(outcomes.filter((outcome) => outcome.version !== undefined && outcome.version < first.version)).toEqual([])
  expect(outcomes.filter((outcome) => outcome.sentAt > killedAt).length).toBeGreaterThan(20)
  return failed.length
}

/** Reports `version` as refused, again after each answer without a newer token, until one comes or `deadline`. */
const reportUntilNewToken = async (cluster: ReplicaCluster, version: number, deadline: number) => {
  const answers: Array<string> = []
  while (Date.now() < deadline) {
    const timeout = Math.max(1, Math.min(REPORT_TIMEOUT_MS, deadline - Date.now()))
    const reply = await cluster.reportUnauthorized(version, timeout).catch((error) => error)
    if (reply?.ok === true && reply.token.version > version) return reply.token as WireToken
    answers.push(reply?.ok === true ? `version ${reply.token.version}` : String(reply?.error?._tag ?? reply))
    await sleep(250)
  }
  throw new Error(`no new token for a report of version ${version} in time; answers: ${answers.join(", ")}`)
}

/** The token versions committed to `bucket`, from its history as the server at `url` serves it. */
const committedVersions = async (url: string, bucket: string): Promise<Array<number>> => {
  const connection = await connect({ servers: url, name: `${bucket}-check` })
  try {
    const versions: Array<number> = []
    for await (const entry of await (await new Kvm(connection).open(bucket)).history({ key: PROVIDER })) {
      const stored = entry.operation === "PUT" ? entry.json<{ token?: { version?: number } }>() : undefined
      const version = stored?.token?.version
      if (version !== undefined && !versions.includes(version)) versions.push(version)
    }
    return versions
  } finally {
    await connection.close()
  }
}

/**
 * Starts a deployment on the cluster, then SIGKILLs the server `pick` names
 * (given the leaders of the two buckets' streams) and the leader replica, and
 * reports the token: see the module comment. Restarts the server at the end.
 */
const survivesLossOf = async (
  pick: (leases: NatsClusterNode | undefined, tokens: NatsClusterNode | undefined) => NatsClusterNode
) => {
  const cluster = natsCluster()
  const deployment = await startDeployment({ servers: cluster.urls, lease: testLease })
  const first = await deployment.firstToken()
  const buckets = [`${deployment.prefix}-leases`, deployment.subjects.tokenBucket()] as const
  for (const bucket of buckets) expect((await streamConfig(deployment.nats, bucket)).num_replicas, bucket).toBe(3)
  const leaders = buckets.map((bucket) => cluster.streamLeader(deployment.nats, `KV_${bucket}`))
  const [leases, tokens] = await Promise.all(leaders)
  const victim = pick(leases, tokens)
  // The consumer sits on a surviving server: what it sees is the service's doing, not its own reconnect.
  const consumer = await connect({ servers: cluster.nodes.find((node) => node !== victim)!.url })
  onTestFinished(() => consumer.close())
  const gets = startGetLoop(consumer, deployment.subjects.get())
  try {
    const old = deployment.leader()!
    const killedAt = Date.now()
    await victim.kill()
    old.replica.kill("SIGKILL")

    const second = await reportUntilNewToken(deployment, first.version, killedAt + NEW_TOKEN_BOUND_MS)
    const newTokenMs = Date.now() - killedAt
    const successor = deployment.leader()!
    expect(successor.revision).toBeGreaterThan(old.revision)
    expect(successor.replica).not.toBe(old.replica)
    await sleep(1000)
    expect((await deployment.getToken()).version).toBe(second.version)
    expect(deployment.sim.counters().mints).toBe(2)

    await victim.restart()
    await gets.stop()
    const lost = expectGetsAnswered(gets.outcomes, first, killedAt)
    // Through the restarted server: it may take a moment to catch up with what was committed while it was down,
    // so wait for it (a version that never appears was lost).
    let committed: Array<number> = []
    await waitUntil(async () => {
      committed = await committedVersions(victim.url, buckets[1])
      return committed.includes(first.version) && committed.includes(second.version)
    }, 15_000, "a committed version is missing from the tokens bucket")
    expect(committed).toEqual(expect.arrayContaining([first.version, second.version]))
    expect(deployment.sim.counters().mints).toBe(2)
    process.stderr.write(
      `[measure] lost ${victim.name} (leading leases: ${leases?.name}, tokens: ${tokens?.name}): ` +
        `new token after ${newTokenMs} ms, successor elected after ${Number(successor.line["time"]) - killedAt} ms, ` +
        `${lost} of ${gets.outcomes.length} gets lost\n`
    )
  } finally {
    await gets.stop()
    if (victim.state !== "running") await victim.restart()
  }
}

describe("losing one server of a three-node NATS cluster", () => {
  it("the one leading the leases bucket", async () => {
    await survivesLossOf((leases) => leases!)
  })

  it("the one leading the tokens bucket", async () => {
    await survivesLossOf((_, tokens) => tokens!)
  })

  it("one leading neither bucket", async () => {
    await survivesLossOf((leases, tokens) => natsCluster().nodes.find((node) => node !== leases && node !== tokens)!)
  })
})

describe("bucket settings at start", () => {
  it("a changed lease TTL, replica count and history are applied to the existing buckets", async () => {
    const servers = natsCluster().urls
    const before = await startDeployment({ servers, processes: 1, nats: { replicas: 1 } })
    await before.firstToken()
    const leases = `${before.prefix}-leases`
    const tokens = before.subjects.tokenBucket()
    // The default lease: 1500 ms.
    expect(await streamConfig(before.nats, leases)).toMatchObject({ num_replicas: 1, max_age: 1500 * 1e6 })
    await before.replicas[0]!.stop("SIGTERM")
    // Someone lowered the tokens bucket's history by hand.
    await (await jetstreamManager(before.nats)).streams.update(`KV_${tokens}`, { max_msgs_per_subject: 1 })

    const config = { ...before.config, lease: testLease, nats: { servers } }
    const after = await startReplicas(1, config, { env: { [SECRET_ENV]: before.upstream.clientSecret } })
    before.replicas.push(...after)
    const leaseStream = await streamConfig(before.nats, leases)
    expect(leaseStream).toMatchObject({ num_replicas: 3, max_age: testLease.ttlMillis * 1e6 })
    expect(leaseStream.duplicate_window).toBeLessThanOrEqual(leaseStream.max_age)
    const tokenStream = await streamConfig(before.nats, tokens)
    expect(tokenStream).toMatchObject({ num_replicas: 3, max_age: 0, max_msgs_per_subject: 64 })
    expect((await before.getToken()).version).toBeGreaterThan(0)
    expect(before.sim.counters().mints).toBe(1)
    const changed = logMsg("changed a setting of a KV bucket", { bucket: leases, setting: "lease.ttlMillis" })
    expect(after[0]!.lines(changed)).toMatchObject([{ from: "1500 ms", to: "3000 ms" }])
  })

  it("a setting the server refuses stops start-up with one line saying what to do", async () => {
    // One server, outside any cluster: JetStream keeps a single copy of every stream there.
    const servers = [inject("natsUrl")]
    const before = await startDeployment({ servers, processes: 1 })
    await before.replicas[0]!.stop("SIGTERM")

    const refused = await spawnReplica(
      { ...before.config, nats: { servers, replicas: 3 } },
      { env: { [SECRET_ENV]: before.upstream.clientSecret } }
    )
    before.replicas.push(refused)
    const exit = await Promise.race([refused.exited, sleep(30_000).then(() => "still running")])
    expect(exit).toMatchObject({ code: 1 })
    const lines = refused.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    const bucket = `(${before.prefix}-leases|${before.subjects.tokenBucket()})`
    const change = "cannot change replicas \\(nats\\.replicas\\) from 1 to 3: "
    expect(lines[0]).toMatch(new RegExp(`^tokenbus: KV bucket ${bucket}: ${change}`))
    expect(lines[0]).toMatch(/\. Set nats\.replicas to 1 /)
  })
})
