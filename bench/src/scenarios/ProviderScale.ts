/**
 * Scenario 7: what a cluster costs as its provider count grows (issue 11).
 * For each provider count (1, 100, 1,000 and 10,000; 1 and 100 with
 * `--quick`) a fresh cluster of 3 replicas run from the build, on its own
 * nats-server against a simulated upstream without a practical rate limit
 * (scale/ScaleRun.ts): start → every provider's first token, CPU and RSS per
 * replica, nats-server CPU and messages into NATS per second over an idle
 * window, and the failover of a SIGKILLed leader's providers. Every row is
 * printed against the 1-provider row of the same run, with the issue's
 * targets. A count that fails (a timeout) gets a row that says so, and the
 * larger counts are not tried.
 */
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { progress } from "../progress.ts"
import { formatNumber, row, type Row } from "../Row.ts"
import { runScale, type ScaleProfiles, type ScaleRunResult } from "../scale/ScaleRun.ts"

export interface ProviderScaleOptions {
  readonly counts: ReadonlyArray<number>
  readonly replicas: number
  readonly idleMillis: number
  /** Profile each count's replicas into a directory of its own under this one (ScaleRun.ts). */
  readonly profileDir?: string
  /** Write each count's replica logs into a directory of its own under this one. */
  readonly logsDir?: string
}

export interface ProviderScaleResult {
  readonly rows: ReadonlyArray<Row>
  readonly runs: ReadonlyArray<ScaleRunResult>
  readonly failed?: { readonly providers: number; readonly error: string }
}

const scenario = "7 provider scale"
const MiB = 2 ** 20

const range = (values: ReadonlyArray<number>, digits = 2) =>
  values.map((value) => value.toFixed(digits)).join(" / ")

/** The figures of one run that rows compare with the 1-provider run: seconds, % of a core, MiB. */
const figures = (run: ScaleRunResult) => ({
  firstTokens: run.firstTokensMillis / 1000,
  replicaCpu: Math.max(...run.idle.replicaCpuPercent),
  natsCpu: run.idle.natsCpuPercent,
  inMsgs: run.idle.inMsgsPerSecond,
  rss: Math.max(...run.idle.replicaRssBytes) / MiB,
  failover: run.failover.maxMillis / 1000,
  served: run.failover.servedMaxMillis / 1000
})

type Figures = ReturnType<typeof figures>

interface RowContext {
  readonly run: ScaleRunResult
  readonly now: Figures
  /** The 1-provider run's figures; absent when it did not run first. */
  readonly then: Figures | undefined
  readonly label: string
}

/** The figure against the 1-provider run's, and within twice it where `twice` (never on the 1-provider row itself). */
const against = ({ run, then }: RowContext, pick: (figures: Figures) => number, value: number, twice = false) => ({
  ...(then === undefined ? {} : { baseline: pick(then), baselineLabel: "N=1", ratio: value / pick(then) }),
  ...(!twice || then === undefined || run.providers === 1 ? {} : { target: "≤ 2× N=1", met: value <= 2 * pick(then) })
})

const firstTokensRow = (context: RowContext): Row => {
  const { run, now, label } = context
  return row({
    scenario,
    metric: `${label}: start → every provider's first token (s)`,
    median: now.firstTokens,
    ...against(context, (f) => f.firstTokens, now.firstTokens),
    target: "< 30 s",
    met: now.firstTokens < 30,
    note: `spawn → all ${run.idle.replicaCpuPercent.length} replicas ready ${(run.readyMillis / 1000).toFixed(2)} s; ` +
      `${run.upstreamRequests} token requests reached the upstream`
  })
}

const idleRows = (context: RowContext): Array<Row> => {
  const { run, now, label } = context
  return [
    row({
      scenario,
      metric: `${label}: CPU per replica at idle (% of a core, busiest, ${run.idle.millis / 1000} s idle)`,
      median: now.replicaCpu,
      ...against(context, (f) => f.replicaCpu, now.replicaCpu, true),
      note: `each replica: ${range(run.idle.replicaCpuPercent)} %; ${run.idle.leadershipsTaken} leaderships taken in the window`
    }),
    row({
      scenario,
      metric: `${label}: nats-server CPU at idle (% of a core)`,
      median: now.natsCpu,
      ...against(context, (f) => f.natsCpu, now.natsCpu)
    }),
    row({
      scenario,
      metric: `${label}: NATS messages in per second at idle`,
      median: now.inMsgs,
      ...against(context, (f) => f.inMsgs, now.inMsgs, true)
    })
  ]
}

const rssRow = (context: RowContext): Row => {
  const { run, now, then, label } = context
  const n = run.providers
  const bound = then === undefined || n === 1 ? undefined : then.rss + (2 * 1024 * n) / MiB
  return row({
    scenario,
    metric: `${label}: RSS per replica after idle (MiB, largest)`,
    median: now.rss,
    ...against(context, (f) => f.rss, now.rss),
    ...(bound === undefined ? {} : { target: `< ${formatNumber(bound)} MiB`, met: now.rss < bound }),
    note: `each replica: ${range(run.idle.replicaRssBytes.map((bytes) => bytes / MiB), 1)} MiB` +
      (bound === undefined ? "" : "; target: the N=1 figure plus 2 KiB per provider")
  })
}

/** SIGKILL → its providers led again ("became leader", before the takeover's work) and served (after it). */
const failoverRows = (context: RowContext): Array<Row> => {
  const { run, now, label } = context
  const { killed, providers, moved, served, timeoutMillis, medianMillis, servedMedianMillis, stranded } = run.failover
  const within = `within ${timeoutMillis / 1000} s`
  const unfinished = moved < providers
    ? `; only ${moved} of them were led again ${within}, the others: ${stranded ?? "?"}`
    : ""
  const unserved = served < providers ? `; only ${served} of them were served ${within}` : ""
  const median = (millis: number) => `median ${(millis / 1000).toFixed(2)} s`
  return [
    row({
      scenario,
      metric: `${label}: SIGKILL of a leader → all its providers led again (s, last "became leader")`,
      median: now.failover,
      ...against(context, (f) => f.failover, now.failover),
      note: `${killed} led ${providers} providers; ${median(medianMillis)}${unfinished}`
    }),
    row({
      scenario,
      metric: `${label}: SIGKILL of a leader → all its providers served by a new leader (s, last of them)`,
      median: now.served,
      ...against(context, (f) => f.served, now.served),
      target: "< 2 s",
      met: now.served < 2,
      note: `fenced, answering mint requests, stored token adopted; ${median(servedMedianMillis)}${unserved}`
    })
  ]
}

const rowsOf = (run: ScaleRunResult, base: ScaleRunResult | undefined): Array<Row> => {
  const context: RowContext = {
    run,
    now: figures(run),
    then: base === undefined ? undefined : figures(base),
    label: `N=${run.providers.toLocaleString("en-US")}`
  }
  return [firstTokensRow(context), ...idleRows(context), rssRow(context), ...failoverRows(context)]
}

/** Where the profiles are, and the options of bin/profile-top.ts that read each phase out of them. */
const describeProfiles = ({ dir, failover, heapSnapshot, idle, start }: ScaleProfiles): string =>
  `CPU profiles in ${dir}; start --from ${start.fromMicros} --to ${start.toMicros}, ` +
  `idle --from ${idle.fromMicros} --to ${idle.toMicros}, failover --from ${failover.fromMicros} --to ${failover.toMicros}` +
  (heapSnapshot === undefined ? "" : `; heap snapshot ${heapSnapshot} (bin/heap-top.ts)`)

export const runProviderScale = async (options: ProviderScaleOptions): Promise<ProviderScaleResult> => {
  const runs: Array<ScaleRunResult> = []
  const rows: Array<Row> = []
  for (const providers of options.counts) {
    progress(`scale: ${providers} providers, ${options.replicas} replicas`)
    const started = Date.now()
    try {
      const profileDir = options.profileDir === undefined ? undefined : join(options.profileDir, `scale-${providers}`)
      if (profileDir !== undefined) await mkdir(profileDir, { recursive: true })
      const logsDir = options.logsDir === undefined ? undefined : join(options.logsDir, `scale-${providers}`)
      if (logsDir !== undefined) await mkdir(logsDir, { recursive: true })
      const run = await runScale({
        providers,
        replicas: options.replicas,
        idleMillis: options.idleMillis,
        ...(profileDir === undefined ? {} : { profileDir }),
        ...(logsDir === undefined ? {} : { logsDir })
      })
      if (run.profiles !== undefined) progress(`scale: ${providers} providers profiled: ${describeProfiles(run.profiles)}`)
      runs.push(run)
      rows.push(...rowsOf(run, runs.find((earlier) => earlier.providers === 1)))
      progress(`scale: ${providers} providers done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    } catch (error) {
      const message = (error as Error).message
      progress(`scale: ${providers} providers failed: ${message}`)
      rows.push(row({
        scenario,
        metric: `N=${providers.toLocaleString("en-US")}: did not finish`,
        median: Number.NaN,
        met: false,
        note: message.split("\n")[0] ?? message
      }))
      return { rows, runs, failed: { providers, error: message } }
    }
  }
  return { rows, runs }
}
