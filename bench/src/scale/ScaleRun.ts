/**
 * One row of the scale scenario: a nats-server, a simulated project44 with no
 * practical rate limit and 3 replicas (run from the build) brokering
 * `providers` providers, all fresh, so nothing is left over from another row.
 * It measures start → every provider's first token, then the cluster at idle
 * (CPU and RSS per replica, nats-server CPU, messages into NATS per second),
 * then the failover after a SIGKILL of the replica leading the most
 * providers. Every wait has a deadline that grows with the provider count
 * and says how far it got on stderr while it waits.
 *
 * With `profileDir` (`pnpm bench --profile`) the replicas run from the
 * sources under `--cpu-prof`, so profiles name functions; after the failover
 * the survivor leading the most providers writes a heap snapshot; the
 * survivors write their CPU profiles when stopped; and the
 * result gives each phase's window in CLOCK_MONOTONIC microseconds, for
 * bin/profile-top.ts.
 */
import { connect } from "@nats-io/transport-node"
import {
  expectToken,
  getPayload,
  logMsg,
  type ReplicaProcess,
  requestReply,
  SECRET_ENV,
  sleep,
  spawnReplica,
  startNatsServer,
  startUpstream
} from "@tokenbus/testing"
import { mkdtemp, readdir, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { monotonicMicros } from "../MonotonicClock.ts"
import { cpuPercent, sampleUsage } from "../ProcessUsage.ts"
import { progress } from "../progress.ts"
import { LeaderIndex } from "./LeaderIndex.ts"
import { inMsgsPerSecond, readVarz } from "./NatsVarz.ts"
import { providerIds, scaleConfig } from "./ScaleConfig.ts"
import { waitWithProgress } from "./waitWithProgress.ts"

export interface ScaleRunOptions {
  readonly providers: number
  readonly replicas: number
  readonly idleMillis: number
  /** Profile the replicas into this directory (see above). */
  readonly profileDir?: string
  /** Write every replica's whole log here when the row ends, passed or failed. */
  readonly logsDir?: string
}

/** A phase of the row in CLOCK_MONOTONIC microseconds, the clock of V8 CPU profiles. */
export interface ProfileWindow {
  readonly fromMicros: number
  readonly toMicros: number
}

export interface ScaleProfiles {
  readonly dir: string
  readonly start: ProfileWindow
  readonly idle: ProfileWindow
  readonly failover: ProfileWindow
  /** The heap snapshot of the survivor leading the most providers, after the failover. */
  readonly heapSnapshot?: string
}

export interface ScaleIdle {
  readonly millis: number
  readonly replicaCpuPercent: ReadonlyArray<number>
  readonly natsCpuPercent: number
  readonly inMsgsPerSecond: number
  readonly replicaRssBytes: ReadonlyArray<number>
  /** Leaderships taken during the window: none when the cluster was really idle. */
  readonly leadershipsTaken: number
}

export interface ScaleFailover {
  readonly killed: string
  /** How many providers the killed replica led, and how many of them another replica led within the deadline. */
  readonly providers: number
  readonly moved: number
  readonly timeoutMillis: number
  /** SIGKILL → the last of them led by another replica (NaN unless all were), and the median over them. */
  readonly maxMillis: number
  readonly medianMillis: number
  /** How many of them a new leader served within the deadline. */
  readonly served: number
  /**
   * SIGKILL → the last of them served by its new leader: fenced, answering mint requests, its stored token
   * adopted (NaN unless all were), and the median. "became leader" is logged before that work, not after.
   */
  readonly servedMaxMillis: number
  readonly servedMedianMillis: number
  /** What the replicas logged about a few of those left without a leader. */
  readonly stranded?: string
}

export interface ScaleRunResult {
  readonly providers: number
  readonly readyMillis: number
  readonly firstTokensMillis: number
  readonly idle: ScaleIdle
  readonly failover: ScaleFailover
  /** Token requests the upstream answered over the whole row (one per provider expected). */
  readonly upstreamRequests: number
  readonly profiles?: ScaleProfiles
}

const ticks = (providers: number) => ({
  ready: 30_000 + providers * 5,
  firstTokens: 60_000 + providers * 10,
  failover: 30_000 + providers * 3
})

/** Node's options for a profiled replica: a CPU profile on exit, a heap snapshot on SIGUSR2. */
const profilingArgs = (dir: string) => [
  "--cpu-prof",
  `--cpu-prof-dir=${dir}`,
  "--heapsnapshot-signal=SIGUSR2",
  `--diagnostic-dir=${dir}`
]

const spawnAll = async (options: ScaleRunOptions, config: Record<string, unknown>, secret: string) => {
  const replicas: Array<ReplicaProcess> = []
  const profiling = options.profileDir === undefined ? {} : { nodeArgs: profilingArgs(options.profileDir) }
  for (let index = 0; index < options.replicas; index++) {
    replicas.push(
      await spawnReplica(config, {
        name: `scale${options.providers}-${index + 1}`,
        logLevel: "Info",
        fromBuild: options.profileDir === undefined,
        env: { [SECRET_ENV]: secret },
        ...profiling
      })
    )
  }
  return replicas
}

/** Asks `replica` for a heap snapshot and waits until the file is written (its size stops changing). */
const heapSnapshot = async (replica: ReplicaProcess, dir: string): Promise<string | undefined> => {
  const before = new Set(await readdir(dir))
  replica.kill("SIGUSR2")
  const deadline = Date.now() + 120_000
  let last = -1
  while (Date.now() < deadline) {
    await sleep(1000)
    const file = (await readdir(dir)).find((name) => name.endsWith(".heapsnapshot") && !before.has(name))
    if (file === undefined) continue
    const size = (await stat(join(dir, file))).size
    if (size > 0 && size === last) return join(dir, file)
    last = size
  }
  progress(`${replica.name} wrote no heap snapshot within 120 s`)
  return undefined
}

/** A get of every provider, 100 at a time: each must answer with a token. */
const checkEveryToken = async (natsUrl: string, prefix: string, providers: ReadonlyArray<string>) => {
  const nc = await connect({ servers: [natsUrl], name: "tokenbus-bench-scale", noAsyncTraces: true })
  try {
    for (let from = 0; from < providers.length; from += 100) {
      await Promise.all(providers.slice(from, from + 100).map(async (provider) => {
        expectToken(await requestReply(nc, `${prefix}.token.${provider}.get`, getPayload, 10_000))
      }))
    }
  } finally {
    await nc.close()
  }
}

/** Waits until no replica has logged "became leader" for `quietMillis` (at most `maxMillis`): the start-up churn is over. */
const settle = async (index: LeaderIndex, quietMillis: number, maxMillis: number) => {
  const until = Date.now() + maxMillis
  while (Date.now() < until && Date.now() - index.refresh().lastLeadershipAt < quietMillis) await sleep(200)
}

const measureIdle = async (
  index: LeaderIndex,
  replicas: ReadonlyArray<ReplicaProcess>,
  nats: { pid: number; monitorPort: number },
  millis: number
) => {
  const pids = replicas.map((replica) => replica.pid ?? -1)
  const taken = index.refresh().leadershipsTaken
  const before = { replicas: pids.map(sampleUsage), nats: sampleUsage(nats.pid), varz: await readVarz(nats.monitorPort) }
  await sleep(millis)
  const after = { replicas: pids.map(sampleUsage), nats: sampleUsage(nats.pid), varz: await readVarz(nats.monitorPort) }
  return {
    millis,
    replicaCpuPercent: after.replicas.map((sample, i) => cpuPercent(before.replicas[i] ?? sample, sample)),
    natsCpuPercent: cpuPercent(before.nats, after.nats),
    inMsgsPerSecond: inMsgsPerSecond(before.varz, after.varz),
    replicaRssBytes: after.replicas.map((sample) => sample.rssBytes),
    leadershipsTaken: index.refresh().leadershipsTaken - taken
  } satisfies ScaleIdle
}

/** The replica leading the most providers. */
const busiest = (index: LeaderIndex, replicas: ReadonlyArray<ReplicaProcess>): ReplicaProcess => {
  index.refresh()
  const [replica] = [...replicas].sort((a, b) => index.ledBy(b).length - index.ledBy(a).length)
  if (replica === undefined) throw new Error("no replica")
  return replica
}

const failover = async (index: LeaderIndex, replicas: ReadonlyArray<ReplicaProcess>, timeoutMillis: number) => {
  const victim = busiest(index, replicas)
  const led = index.ledBy(victim)
  const killedAt = victim.kill("SIGKILL")
  const movedAt = (provider: string) => {
    const leadership = index.leaderOf(provider)
    return leadership !== undefined && leadership.replica !== victim && leadership.at >= killedAt ? leadership.at : undefined
  }
  const servedAt = (provider: string) => index.heldSince(provider, killedAt, victim)
  const moved = () => led.filter((provider) => movedAt(provider) !== undefined).length
  const served = () => led.filter((provider) => servedAt(provider) !== undefined).length
  // A timeout here is a result (providers left without a leader), not a failure of the row.
  await waitWithProgress({
    what: `${led.length} providers of ${victim.name} led and served by another replica after SIGKILL`,
    done: () => index.refresh() && moved() === led.length && served() === led.length,
    status: () => `led ${moved()}/${led.length}, served ${served()}/${led.length}`,
    timeoutMillis
  }).catch((error: Error) => progress(error.message))
  const since = (at: (provider: string) => number | undefined) =>
    led.map((provider) => (at(provider) ?? Number.POSITIVE_INFINITY) - killedAt).sort((a, b) => a - b)
  const [millis, servedMillis] = [since(movedAt), since(servedAt)]
  // A series is NaN when one of its providers never got there: a provider led but never served spoils only the served one.
  const last = (sorted: ReadonlyArray<number>) => {
    const value = sorted[sorted.length - 1] ?? Number.NaN
    return Number.isFinite(value) ? value : Number.NaN
  }
  const stranded = led.filter((provider) => movedAt(provider) === undefined)
  return {
    killed: victim.name,
    providers: led.length,
    moved: moved(),
    timeoutMillis,
    maxMillis: last(millis),
    medianMillis: millis[millis.length >> 1] ?? Number.NaN,
    served: served(),
    servedMaxMillis: last(servedMillis),
    servedMedianMillis: servedMillis[servedMillis.length >> 1] ?? Number.NaN,
    ...(stranded.length === 0 ? {} : { stranded: historyOf(replicas, stranded) })
  } satisfies ScaleFailover
}

/** What the replicas logged about the first few of `providers`, to say why they have no token or no leader. */
const historyOf = (replicas: ReadonlyArray<ReplicaProcess>, providers: ReadonlyArray<string>): string => {
  const shown = providers.slice(0, 3)
  const lines = shown.flatMap((provider) =>
    replicas.flatMap((replica) =>
      replica.lines((line) => line.provider === provider).map((line) => ({ replica: replica.name, line }))
    ).sort((a, b) => a.line.time - b.line.time).map(({ replica, line }) =>
      `${provider} ${replica} ${new Date(line.time).toISOString().slice(11, 23)} ${line.msg}` +
        `${line["term"] === undefined ? "" : ` [term ${String(line["term"])}]`}` +
        `${line["phase"] === undefined ? "" : ` (phase: ${String(line["phase"])})`}` +
        `${line["reason"] === undefined ? "" : ` (${String(line["reason"])})`}`
    )
  )
  return `${providers.length} providers (${providers.join(", ").slice(0, 200)}); log lines of the first ` +
    `${shown.length}: ${lines.join(" | ")}`
}

const writeLogs = async (replicas: ReadonlyArray<ReplicaProcess>, dir: string) => {
  for (const replica of replicas) await writeFile(join(dir, `${replica.name}.log`), replica.dump())
}

export const runScale = async (options: ScaleRunOptions): Promise<ScaleRunResult> => {
  const { providers } = options
  const deadlines = ticks(providers)
  const nats = await startNatsServer()
  const upstream = await startUpstream({ tokensPerMinute: 1_000_000_000, burst: 1_000_000 })
  const replicas: Array<ReplicaProcess> = []
  const phase = (fromMicros: number): ProfileWindow => ({ fromMicros, toMicros: monotonicMicros() })
  try {
    const config = scaleConfig({ natsUrl: nats.url, upstream, providers })
    const startMicros = monotonicMicros()
    const startedAt = Date.now()
    replicas.push(...(await spawnAll(options, config, upstream.clientSecret)))
    const index = new LeaderIndex(replicas)
    const ready = await Promise.all(replicas.map((replica) => replica.waitForLog(logMsg("replica ready"), deadlines.ready)))
    const readyMillis = Math.max(...ready.map((line) => line.time)) - startedAt
    await waitWithProgress({
      what: `every one of ${providers} providers holding its first token`,
      done: () => index.refresh().tokenCount >= providers,
      status: () => `${index.tokenCount}/${providers}`,
      timeoutMillis: deadlines.firstTokens
    }).catch((error: Error) => {
      throw new Error(`${error.message}; without a token: ${historyOf(replicas, index.withoutToken(providerIds(providers)))}`)
    })
    const firstTokensMillis = index.lastFirstTokenAt - startedAt
    const start = phase(startMicros)
    await checkEveryToken(nats.url, String(config["prefix"]), providerIds(providers))
    await settle(index, 2000, 15_000)
    progress(`${providers} providers: ${options.idleMillis / 1000} s of idle`)
    const idleMicros = monotonicMicros()
    const idle = await measureIdle(index, replicas, nats, options.idleMillis)
    const idleWindow = phase(idleMicros)
    const failoverMicros = monotonicMicros()
    const failed = await failover(index, replicas, deadlines.failover)
    const failoverEndMicros = monotonicMicros()
    // After the failover: the snapshot stops the replica for seconds, which would itself move its providers.
    const survivors = replicas.filter((replica) => replica.running)
    const snapshot = options.profileDir === undefined ? undefined : await heapSnapshot(busiest(index, survivors), options.profileDir)
    const profiles = options.profileDir === undefined ? undefined : {
      dir: options.profileDir,
      start,
      idle: idleWindow,
      failover: { fromMicros: failoverMicros, toMicros: failoverEndMicros },
      ...(snapshot === undefined ? {} : { heapSnapshot: snapshot })
    }
    // Profiled replicas write their CPU profile on a graceful stop only.
    if (profiles !== undefined) await Promise.all(replicas.map((replica) => replica.stop("SIGTERM", 60_000)))
    const upstreamRequests = upstream.sim.counters().tokenRequests
    if (options.logsDir !== undefined) {
      await writeLogs(replicas, options.logsDir)
      progress(`${providers} providers: the replicas' logs are in ${options.logsDir}`)
    }
    return { providers, readyMillis, firstTokensMillis, idle, failover: failed, upstreamRequests, ...(profiles === undefined ? {} : { profiles }) }
  } catch (error) {
    // The whole logs go to files, their tails to stderr; the error stays short enough for the table's notes.
    const dir = options.logsDir ?? (await mkdtemp(join(tmpdir(), `tokenbus-scale-${providers}-`)))
    await writeLogs(replicas, dir)
    for (const replica of replicas) progress(replica.dump().split("\n").slice(-10).join("\n"))
    progress(`${providers} providers: the replicas' logs are in ${dir}`)
    throw error
  } finally {
    // Profiled replicas that are still up write their CPU profile on a graceful stop, also after a failure.
    const stop = options.profileDir === undefined ? ("SIGKILL" as const) : ("SIGTERM" as const)
    await Promise.all(replicas.map((replica) => replica.stop(stop, 60_000)))
    await upstream.sim.close()
    await nats.stop()
  }
}
