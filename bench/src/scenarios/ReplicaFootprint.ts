/**
 * Scenario 6: what a replica costs to run. Resident memory and CPU (% of one
 * core, from /proc) of the single-replica cluster's process, watched at idle
 * after scenario 1 has warmed it up, and under scenario 1's load (sampled
 * over each measured round there). CPU per reply compares the replica's work
 * with the echo responder's under the same load, independently of which
 * process was the bottleneck. Then what starting a replica costs, from the
 * bundle against src/bin.ts (ReplicaStartup.ts), with issue 11's targets:
 * ready within 1 s, under 100 MiB of RSS.
 */
import type { ReplicaProcess } from "@tokenbus/testing"
import { sleep } from "@tokenbus/testing"
import type { BenchOptions } from "../BenchOptions.ts"
import { cpuPercent, sampleUsage } from "../ProcessUsage.ts"
import { row, type Row } from "../Row.ts"
import { median } from "../Stats.ts"
import type { TargetResult } from "./GetThroughput.ts"
import type { StartupFigures } from "./ReplicaStartup.ts"

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
  /** Replicas started from src/bin.ts and from the bundle; absent: not measured. */
  readonly startup?: { readonly src: StartupFigures; readonly build: StartupFigures; readonly runs: number }
  /** Whether the single cluster's replica runs from the bundle. */
  readonly fromBuild: boolean
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
      row({
        scenario,
        metric: "RSS just started (MiB)",
        median: setup.rssAtStart / MiB,
        note: `the single cluster's replica, run from ${setup.fromBuild ? "the bundle" : "src/bin.ts"}`
      }),
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
      }),
      ...(setup.startup === undefined ? [] : startupRows(scenario, setup.startup))
    ]
  }
}

/** The bundle's start-up figures against src/bin.ts's, medians of `runs` starts each. */
const startupRows = (scenario: string, startup: NonNullable<FootprintSetup["startup"]>): Array<Row> => {
  const { src, build, runs } = startup
  const compared = (pick: (figures: StartupFigures) => number, unit: number) => ({
    median: pick(build) / unit,
    baseline: pick(src) / unit,
    baselineLabel: "src",
    ratio: pick(build) / pick(src)
  })
  const rssTarget = (bytes: number) => ({ target: "< 100 MiB", met: bytes < 100 * MiB })
  return [
    row({
      scenario,
      metric: "bundle: spawn → replica ready (ms)",
      ...compared((f) => f.readyMillis, 1),
      target: "< 1000 ms",
      met: build.readyMillis < 1000,
      note: `median of ${runs} replicas started one at a time from each; baseline: node packages/service/src/bin.ts`
    }),
    row({ scenario, metric: "bundle: RSS at ready (MiB)", ...compared((f) => f.rssAtReadyBytes, MiB), ...rssTarget(build.rssAtReadyBytes) }),
    row({
      scenario,
      metric: "bundle: RSS after its first mint (MiB)",
      ...compared((f) => f.rssSettledBytes, MiB),
      ...rssTarget(build.rssSettledBytes),
      note: "2 s after the replica's first token was committed"
    }),
    row({
      scenario,
      metric: "bundle: private memory after its first mint (MiB)",
      ...compared((f) => f.privateSettledBytes, MiB),
      note: `RSS less shared pages, mostly the node executable's (RSS − private here: ` +
        `${((build.rssSettledBytes - build.privateSettledBytes) / MiB).toFixed(0)} MiB), which all Node processes share`
    })
  ]
}
