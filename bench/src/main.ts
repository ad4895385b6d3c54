/**
 * `pnpm bench`: the performance figures of tokenbus, measured on this
 * machine against baselines measured in the same run. It starts its own
 * nats-server (a child process, 127.0.0.1 only), simulated upstreams,
 * replica processes (run from the bundle `pnpm build` makes, made again
 * first if it is older than the sources) and echo responders (BenchStack.ts), runs the six scenarios of
 * issue 5 one after the other, and before them issue 11's provider scale on
 * clusters and NATS servers of its own (nothing else is running then), prints
 * a Markdown table on stdout (progress goes to stderr) and writes the same
 * figures as JSON to bench-results/. Everything it starts is stopped when it
 * ends, on failure or Ctrl-C too.
 */
import { NodeRuntime } from "@effect/platform-node"
import { defaultLeaseConfig } from "@tokenbus/core"
import { ensureFreshBundle, PROVIDER } from "@tokenbus/testing"
import { Effect } from "effect"
import { type BenchOptions, parseBenchOptions, usage } from "./BenchOptions.ts"
import { acquireBenchStack, type BenchStack } from "./BenchStack.ts"
import { watchCommits } from "./KvCommits.ts"
import { codeLine, type CodeVersion, describeCode } from "./CodeVersion.ts"
import { describeMachine, type Machine, machineLine } from "./Machine.ts"
import { progress } from "./progress.ts"
import { writeResults } from "./ResultsFile.ts"
import type { Row } from "./Row.ts"
import { runCachedLookups } from "./scenarios/CachedLookups.ts"
import { runFailover } from "./scenarios/Failover.ts"
import { runFanOut } from "./scenarios/FanOut.ts"
import { runGetThroughput, type Target, type TargetPair } from "./scenarios/GetThroughput.ts"
import { resolve } from "node:path"
import { monotonicMicros } from "./MonotonicClock.ts"
import { runProviderScale } from "./scenarios/ProviderScale.ts"
import { runReplicaFootprint } from "./scenarios/ReplicaFootprint.ts"
import { measureStartup } from "./scenarios/ReplicaStartup.ts"
import { runUnauthorizedStorm } from "./scenarios/UnauthorizedStorm.ts"
import { formatNotes, formatTable } from "./Table.ts"

/** When each scenario ran, so bin/profile-top.ts can read one scenario out of a replica's profile. */
const windows: Record<string, { readonly fromMicros: number; readonly toMicros: number }> = {}

/** Scenarios that failed: the others still run and are reported, and the bench exits 1. */
const failures: Array<{ readonly number: number; readonly message: string }> = []

/** Runs scenario `number` when it was asked for, with progress lines around it. */
const scenario = <A extends { readonly rows: ReadonlyArray<Row> }>(
  options: BenchOptions,
  number: number,
  title: string,
  run: () => Promise<A>
) =>
  Effect.gen(function*() {
    if (!options.only.has(number)) return undefined
    progress(`scenario ${number}: ${title}`)
    const started = performance.now()
    const fromMicros = monotonicMicros()
    const result = yield* Effect.tryPromise({ try: run, catch: (cause) => cause }).pipe(
      Effect.catch((cause) =>
        Effect.sync(() => {
          const message = cause instanceof Error ? cause.message : String(cause)
          failures.push({ number, message })
          progress(`scenario ${number} failed: ${cause instanceof Error ? cause.stack : message}`)
          return undefined
        })
      )
    )
    if (result === undefined) return undefined
    windows[number] = { fromMicros, toMicros: monotonicMicros() }
    progress(
      `scenario ${number}: done in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
        `(profile window --from ${fromMicros} --to ${windows[number]?.toMicros})`
    )
    return result
  })

const targetPairs = (stack: BenchStack): ReadonlyArray<TargetPair> => {
  const processes = (replicas: BenchStack["single"]["replicas"]): Target["processes"] =>
    replicas.map((replica) => ({ name: replica.name, pid: replica.pid ?? -1 }))
  return [
    {
      replicas: 1,
      echo: { label: "echo ×1", subject: `echo1.token.${PROVIDER}.get`, processes: [stack.echoOne] },
      tokenbus: { label: "tokenbus ×1", subject: stack.single.subjects.get(), processes: processes(stack.single.replicas) }
    },
    {
      replicas: 3,
      echo: { label: "echo ×3", subject: `echo3.token.${PROVIDER}.get`, processes: stack.echoThree },
      tokenbus: { label: "tokenbus ×3", subject: stack.trio.subjects.get(), processes: processes(stack.trio.replicas) }
    }
  ]
}

const runScenarios = (options: BenchOptions, stack: BenchStack) =>
  Effect.gen(function*() {
    const { nc, natsUrl, single, trio, natsServerPid } = stack
    const getThroughput = yield* scenario(options, 1, `get, N=${options.concurrency}, ${options.rounds} × ${options.roundMillis} ms rounds`, () =>
      runGetThroughput({ nc, options, natsServerPid, pairs: targetPairs(stack) }))
    const [echoOne, singleUnderLoad] = getThroughput?.results ?? []
    const footprint = yield* scenario(options, 6, `replica footprint (idle ${options.idleMillis} ms)`, async () => {
      const replica = single.replicas[0]
      if (replica === undefined || singleUnderLoad === undefined || echoOne === undefined) throw new Error("scenario 6 needs scenario 1")
      const runs = options.startups
      const startup = {
        src: await measureStartup({ cluster: single, fromBuild: false, runs }),
        build: await measureStartup({ cluster: single, fromBuild: true, runs }),
        runs
      }
      return runReplicaFootprint({
        startup,
        fromBuild: !options.profile,
        replica,
        rssAtStart: stack.singleRssAtStart,
        options,
        underLoad: singleUnderLoad,
        echo: echoOne,
        replicaName: replica.name,
        echoName: stack.echoOne.name
      })
    })
    const cachedLookups = yield* scenario(options, 2, "cached lookups", () =>
      runCachedLookups({ nc, natsUrl, cluster: single, options }))
    const commits = yield* Effect.acquireRelease(
      Effect.promise(() => watchCommits(nc, trio.subjects.tokenBucket(), PROVIDER)),
      (watch) => Effect.sync(() => watch.stop())
    )
    const stormProcesses = [
      { name: "bench", pid: process.pid },
      { name: "nats-server", pid: natsServerPid },
      ...trio.running.map((replica) => ({ name: replica.name, pid: replica.pid ?? -1 }))
    ]
    const storm = yield* scenario(options, 3, `401 storms of ${options.stormReporters} reports`, () =>
      runUnauthorizedStorm({ nc, cluster: trio, commits, options, processes: stormProcesses }))
    const fanOut = yield* scenario(options, 4, `fan-out to ${options.fanOutClients} clients`, () =>
      runFanOut({ natsUrl, cluster: trio, commits, options }))
    const failover = yield* scenario(options, 5, `failover (${options.kills} × SIGKILL, ${options.terms} × SIGTERM)`, () =>
      runFailover({ cluster: trio, lease: defaultLeaseConfig, options }))
    return { getThroughput, cachedLookups, storm, fanOut, failover, footprint, replyBytes: stack.replyBytes }
  })

/** Scenario 7, before the others' stack exists: its clusters have the machine to themselves. */
const runScale = (options: BenchOptions) =>
  scenario(options, 7, `provider scale at ${options.scaleCounts.join(", ")} providers`, () =>
    runProviderScale({
      counts: options.scaleCounts,
      replicas: options.scaleReplicas,
      idleMillis: options.scaleIdleMillis,
      ...(options.profile ? { profileDir: resolve(options.outDir, "profiles") } : {}),
      ...(options.scaleLogs ? { logsDir: resolve(options.outDir, "logs") } : {})
    }))

interface Results extends Partial<Effect.Success<ReturnType<typeof runScenarios>>> {
  readonly scale: Effect.Success<ReturnType<typeof runScale>>
}

const rowsOf = (results: Results): Array<Row> =>
  [
    results.getThroughput,
    results.cachedLookups,
    results.storm,
    results.fanOut,
    results.failover,
    results.footprint,
    results.scale
  ].flatMap((result) => result?.rows ?? [])

interface RunInfo {
  readonly options: BenchOptions
  readonly machine: Machine
  readonly code: CodeVersion
  readonly startedAt: Date
}

const settingsLine = (options: BenchOptions, results: Results): string => {
  const lease = defaultLeaseConfig
  const reply = results.replyBytes === undefined ? "" : `; token reply ${results.replyBytes} bytes`
  return `settings: N=${options.concurrency} requesters, warm-up ${options.warmupMillis} ms, ${options.rounds} rounds × ` +
    `${options.roundMillis} ms; lease ${lease.ttlMillis}/${lease.renewEveryMillis}/${lease.safetyMarginMillis} ms; ` +
    `simulated upstream latency ${options.upstreamLatencyMillis} ms (scenarios 3-5)${reply}; replicas run from ` +
    `${options.profile ? "src/bin.ts (--profile)" : "the bundle"}; scenario 7: ${options.scaleReplicas} replicas, ` +
    `${options.scaleIdleMillis / 1000} s idle, providers ${options.scaleCounts.join(", ")}`
}

const report = ({ options, machine, code, startedAt }: RunInfo, results: Results, path: string) => {
  const rows = rowsOf(results)
  return [
    `tokenbus bench, ${startedAt.toISOString()}${options.quick ? " (--quick)" : ""}`,
    `machine: ${machineLine(machine)}`,
    `code: ${codeLine(code)}`,
    settingsLine(options, results),
    "",
    formatTable(rows),
    "",
    formatNotes(rows),
    ...(results.failover === undefined ? [] : [`- failover bounds: ${results.failover.bounds.explanation}`]),
    ...failures.map(({ number, message }) => `- scenario ${number} failed: ${message.split("\n")[0]}`),
    ...(results.scale?.failed === undefined ? [] : [`- scenario 7 stopped at ${results.scale.failed.providers} providers:\n` +
      results.scale.failed.error.split("\n").map((line) => `    ${line}`).join("\n")]),
    "",
    `JSON: ${path}`,
    ""
  ].join("\n")
}

/** Scenarios 1-6 share one stack, started only when one of them is asked for. */
const needsStack = (options: BenchOptions) => [1, 2, 3, 4, 5, 6].some((number) => options.only.has(number))

const bench = (options: BenchOptions) =>
  Effect.gen(function*() {
    const startedAt = new Date()
    const machine = describeMachine()
    const code = describeCode()
    progress(`machine: ${machineLine(machine)}; code: ${codeLine(code)}`)
    const rebuilt = yield* Effect.sync(ensureFreshBundle)
    progress(rebuilt === undefined ? "the bundle is current" : `bundled the service again: ${rebuilt}`)
    const scale = yield* runScale(options)
    const others = needsStack(options)
      ? yield* acquireBenchStack(options).pipe(Effect.flatMap((stack) => runScenarios(options, stack)))
      : {}
    const results: Results = { ...others, scale }
    const path = yield* Effect.promise(() =>
      writeResults(options.outDir, startedAt, {
        startedAt: startedAt.toISOString(),
        durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
        machine,
        code,
        settings: {
          options: { ...options, only: [...options.only] },
          lease: defaultLeaseConfig,
          replyBytes: results.replyBytes
        },
        rows: rowsOf(results),
        scenarios: results,
        profileWindows: windows
      }))
    process.stdout.write(report({ options, machine, code, startedAt }, results, path))
    if (failures.length > 0) process.exitCode = 1
  }).pipe(Effect.scoped)

const args = process.argv.slice(2)
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(`${usage}\n`)
} else {
  NodeRuntime.runMain(Effect.suspend(() => bench(parseBenchOptions(args))))
}
