/**
 * Scenario 3: a 401 storm. Many consumers find at once that the current
 * token is refused and report it; tokenbus must call the upstream exactly
 * once and hand every reporter the new token. The upstream's latency is
 * simulated (stated in the table); delivery is timed from the commit of the
 * new token, seen on a KV watch, to each reporter's reply, so it measures
 * what tokenbus adds after the upstream has answered. The time from the first
 * report to the last reply, upstream included, is reported beside it.
 *
 * The first storms warm the code paths up (JIT) and are not counted. CPU time
 * of every process involved is read for each storm: on a small machine a
 * storm is CPU-bound, and this says where the time went.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { parseReply, PROVIDER, type ReplicaCluster, reportPayload } from "@tokenbus/testing"
import type { BenchOptions } from "../BenchOptions.ts"
import type { KvCommits } from "../KvCommits.ts"
import { cpuPercent, sampleUsage, type UsageSample } from "../ProcessUsage.ts"
import { progress } from "../progress.ts"
import { row, type Row } from "../Row.ts"
import { median, summarize, type Summary } from "../Stats.ts"
import { withoutStackTraces } from "../withoutStackTraces.ts"

export interface StormSetup {
  readonly nc: NatsConnection
  readonly cluster: ReplicaCluster
  readonly commits: KvCommits
  readonly options: BenchOptions
  /** Processes whose CPU time is read per storm: the bench, nats-server, the replicas. */
  readonly processes: ReadonlyArray<{ readonly name: string; readonly pid: number }>
}

export interface Storm {
  readonly leader: string | undefined
  readonly reportedVersion: number
  readonly newVersion: number
  readonly mints: number
  /** performance.now() deltas, ms. */
  readonly sendMillis: number
  readonly firstReportToCommitMillis: number
  readonly firstReportToLastReplyMillis: number
  readonly commitToReply: Summary
  /** CPU milliseconds each process spent from the first report to the last reply. */
  readonly cpuMillis: Readonly<Record<string, number>>
}

export interface StormResult {
  readonly rows: ReadonlyArray<Row>
  /** The uncounted first storms (cold code paths). */
  readonly warmUps: ReadonlyArray<Storm>
  readonly storms: ReadonlyArray<Storm>
}

interface Arrival {
  readonly at: number
  readonly version: number | undefined
  readonly error: string | undefined
}

const report = (nc: NatsConnection, subject: string, payload: string): Promise<Arrival> =>
  nc.request(subject, payload, { timeout: 15_000 }).then(
    (message) => {
      const reply = parseReply(message.string())
      return reply.ok
        ? { at: performance.now(), version: reply.token.version, error: undefined }
        : { at: performance.now(), version: undefined, error: reply.error._tag }
    },
    (error: unknown) => ({ at: performance.now(), version: undefined, error: String(error) })
  )

const storm = async (setup: StormSetup): Promise<Storm> => {
  const { nc, cluster, commits, options } = setup
  const reportedVersion = (await cluster.getToken()).version
  const mintsBefore = cluster.upstream.sim.counters().mints
  const committed = commits.after(reportedVersion)
  const subject = cluster.subjects.unauthorized(PROVIDER)
  const payload = reportPayload(reportedVersion)
  const before = new Map<string, UsageSample>(setup.processes.map((p) => [p.name, sampleUsage(p.pid)]))
  const firstSent = performance.now()
  let sendMillis = 0
  const replies = await withoutStackTraces(() => {
    const arrivals = Array.from({ length: options.stormReporters }, () => report(nc, subject, payload))
    sendMillis = performance.now() - firstSent
    return Promise.all(arrivals)
  })
  const cpuMillis = cpuSince(before)
  const commit = await committed
  const mints = cluster.upstream.sim.counters().mints - mintsBefore

  const failed = replies.filter((reply) => reply.version === undefined)
  if (failed.length > 0) throw new Error(`${failed.length} reporters got no token (first: ${failed[0]?.error})`)
  const versions = new Set(replies.map((reply) => reply.version))
  if (mints !== 1 || versions.size !== 1) {
    throw new Error(`a storm of ${replies.length} reports cost ${mints} upstream mints and returned versions ${[...versions].join(", ")}; expected exactly one of each`)
  }
  const newVersion = replies[0]?.version ?? 0
  // Time from the arrival of the commit of the version the reporters got.
  const commitAt = commits.all().find((c) => c.version === newVersion)?.at ?? commit.at
  return {
    leader: cluster.leader()?.replica.name,
    reportedVersion,
    newVersion,
    mints,
    sendMillis,
    firstReportToCommitMillis: commitAt - firstSent,
    firstReportToLastReplyMillis: Math.max(...replies.map((reply) => reply.at)) - firstSent,
    commitToReply: summarize(replies.map((reply) => reply.at - commitAt)),
    cpuMillis
  }
}

const cpuSince = (before: ReadonlyMap<string, UsageSample>): Record<string, number> => {
  const spent: Record<string, number> = {}
  for (const [name, from] of before) {
    const to = sampleUsage(from.pid)
    spent[name] = (cpuPercent(from, to) / 100) * (to.at - from.at)
  }
  return spent
}

const describe = (storm: Storm): string =>
  `v${storm.reportedVersion} → v${storm.newVersion} (leader ${storm.leader}), ${storm.mints} mint, first report → commit ` +
  `${storm.firstReportToCommitMillis.toFixed(1)} ms, commit → reply p50 ${storm.commitToReply.median.toFixed(1)} / ` +
  `p99 ${storm.commitToReply.p99.toFixed(1)} / max ${storm.commitToReply.max.toFixed(1)} ms; CPU ms over ` +
  `${storm.firstReportToLastReplyMillis.toFixed(0)} ms: ` +
  Object.entries(storm.cpuMillis).map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(", ")

export const runUnauthorizedStorm = async (setup: StormSetup): Promise<StormResult> => {
  const { options } = setup
  const warmUps: Array<Storm> = []
  for (let index = 0; index < options.stormWarmUps; index++) {
    warmUps.push(await storm(setup))
    progress(`  warm-up storm ${index + 1}/${options.stormWarmUps}: ${describe(warmUps[index] as Storm)}`)
  }
  const storms: Array<Storm> = []
  for (let index = 0; index < options.storms; index++) {
    const result = await storm(setup)
    storms.push(result)
    progress(`  storm ${index + 1}/${options.storms}: ${describe(result)}`)
  }
  const scenario = `3 401 storm, ${options.stormReporters.toLocaleString("en-US")} reports, upstream ${options.upstreamLatencyMillis} ms`
  const p99 = median(storms.map((s) => s.commitToReply.p99))
  return {
    warmUps,
    storms,
    rows: [
      row({
        scenario,
        metric: "upstream mints per storm",
        median: median(storms.map((s) => s.mints)),
        p99: Math.max(...storms.map((s) => s.mints)),
        target: "exactly 1",
        met: storms.every((s) => s.mints === 1)
      }),
      row({
        scenario,
        metric: "commit → reporter holds new token (ms)",
        median: median(storms.map((s) => s.commitToReply.median)),
        p99,
        target: "p99 < 100 ms",
        met: p99 < 100,
        note: `median over ${storms.length} storms of each storm's median and p99; ` +
          `slowest reporter of any storm ${Math.max(...storms.map((s) => s.commitToReply.max)).toFixed(1)} ms after the commit`
      }),
      row({
        scenario,
        metric: "first report → every reporter holds it (ms)",
        median: median(storms.map((s) => s.firstReportToLastReplyMillis)),
        note: `includes the simulated upstream latency (${options.upstreamLatencyMillis} ms) and sending the ` +
          `${options.stormReporters} reports (median ${median(storms.map((s) => s.sendMillis)).toFixed(1)} ms)`
      })
    ]
  }
}
