/**
 * Scenario 6: what a replica costs to run. Resident memory and CPU (% of one
 * core, from /proc) of the single-replica cluster's process, watched at idle
 * after scenario 1 has warmed it up, and under scenario 1's load (sampled
 * over each measured round there). CPU per reply compares the replica's work
 * with the echo responder's under the same load, independently of which
 * process was the bottleneck.
 */
import type { ReplicaProcess } from "@tokenbus/testing"
import { sleep } from "@tokenbus/testing"
import type { BenchOptions } from "../BenchOptions.ts"
import { cpuPercent, sampleUsage } from "../ProcessUsage.ts"
import { row, type Row } from "../Row.ts"
import { median } from "../Stats.ts"
import type { TargetResult } from "./GetThroughput.ts"

export interface FootprintSetup {
  readonly replica: ReplicaProcess
  /** Its resident memory right after it started, before any load. */
  readonly rssAtStart: number
  readonly options: BenchOptions
  /** Scenario 1's results for this replica and for its echo baseline. */
  readonly underLoad: TargetResult
  readonly echo: TargetResult
  /** The names scenario 1 gave these processes in its CPU samples. */
  readonly replicaName: string
  readonly echoName: string
}

export interface FootprintResult {
  readonly rows: ReadonlyArray<Row>
  readonly idle: { readonly rssBytes: number; readonly cpuPercent: number; readonly millis: number }
  readonly load: { readonly rssBytes: number; readonly cpuPercent: number; readonly throughput: number }
}

const MiB = 2 ** 20

/** Microseconds of CPU per reply of the process `name` in each round, median over rounds. */
const cpuPerReply = (result: TargetResult, name: string): number =>
  median(result.rounds.map((round) => ((round.cpu[name] ?? Number.NaN) / 100) / round.throughput * 1e6))

export const runReplicaFootprint = async (setup: FootprintSetup): Promise<FootprintResult> => {
  const pid = setup.replica.pid
  if (pid === undefined) throw new Error("the replica has no pid")
  const before = sampleUsage(pid)
  await sleep(setup.options.idleMillis)
  const after = sampleUsage(pid)
  const idle = { rssBytes: after.rssBytes, cpuPercent: cpuPercent(before, after), millis: setup.options.idleMillis }
  const { underLoad, echo, replicaName, echoName } = setup
  const load = {
    rssBytes: Math.max(...underLoad.rounds.map((round) => round.rss[replicaName] ?? 0)),
    cpuPercent: median(underLoad.rounds.map((round) => round.cpu[replicaName] ?? Number.NaN)),
    throughput: underLoad.throughput
  }
  const replicaPerReply = cpuPerReply(underLoad, replicaName)
  const echoPerReply = cpuPerReply(echo, echoName)
  const scenario = "6 replica footprint"
  return {
    idle,
    load,
    rows: [
      row({ scenario, metric: "RSS just started (MiB)", median: setup.rssAtStart / MiB }),
      row({ scenario, metric: "RSS at idle, after load (MiB)", median: idle.rssBytes / MiB }),
      row({
        scenario,
        metric: `CPU at idle, after load (% of a core, ${idle.millis / 1000} s)`,
        median: idle.cpuPercent,
        note: `read from /proc in clock ticks of 10 ms: over ${idle.millis / 1000} s one tick is ` +
          `${(1000 / idle.millis).toFixed(1)} %, so 0 means less than that (lease renewals every 1.5 s)`
      }),
      row({ scenario, metric: "RSS under scenario 1 load (MiB)", median: load.rssBytes / MiB, note: "largest of the rounds" }),
      row({
        scenario,
        metric: "CPU under scenario 1 load (% of a core)",
        median: load.cpuPercent,
        note: `at ${Math.round(load.throughput).toLocaleString("en-US")} req/s through one replica`
      }),
      row({
        scenario,
        metric: "CPU per reply (µs)",
        median: replicaPerReply,
        baseline: echoPerReply,
        baselineLabel: "echo",
        ratio: replicaPerReply / echoPerReply
      })
    ]
  }
}
