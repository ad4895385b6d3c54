/**
 * The command line of `pnpm bench`: how long and how often each scenario
 * runs. Scenarios 1-6 take about three minutes on a 2-core machine, and
 * scenario 7 (the provider scale, up to 10,000 providers) several more;
 * `--quick` trades precision for a shorter run (for checking the bench
 * itself, not for publishing figures).
 */

export interface BenchOptions {
  readonly quick: boolean
  /** Concurrent requesters in scenario 1 (closed loop: one request in flight each). */
  readonly concurrency: number
  readonly warmupMillis: number
  readonly rounds: number
  readonly roundMillis: number
  /** Scenario 2: length of one measured round of lookups. */
  readonly lookupRoundMillis: number
  /** Scenario 2: distinct providers cached to measure memory per token. */
  readonly cachedProviders: number
  /** Scenario 3: concurrent 401 reports per storm, and storms. */
  readonly stormReporters: number
  readonly storms: number
  /** Storms run first and not counted: the mint and relay paths are cold until then. */
  readonly stormWarmUps: number
  /** Scenario 3 and 5: simulated upstream latency of the token endpoint. */
  readonly upstreamLatencyMillis: number
  /** Scenario 4: subscribed clients and commits observed. */
  readonly fanOutClients: number
  readonly fanOutCommits: number
  /** Scenario 5: leaders killed with SIGKILL, and stopped with SIGTERM. */
  readonly kills: number
  readonly terms: number
  /** Scenario 6: how long the idle replica is watched. */
  readonly idleMillis: number
  /** Scenario 6: replicas started one after the other from src/bin.ts, and as many from the bundle. */
  readonly startups: number
  /** Scenario 7: the provider counts, the replicas of each cluster, and how long each cluster is watched at idle. */
  readonly scaleCounts: ReadonlyArray<number>
  readonly scaleReplicas: number
  readonly scaleIdleMillis: number
  /** Scenarios to run (1-7); all by default. Scenario 6 needs 1's load, so it brings 1 along. */
  readonly only: ReadonlySet<number>
  /**
   * Start replicas and echo responders with `--cpu-prof`, profiles written to <outDir>/profiles. Replicas
   * then run from src/bin.ts, not from the minified bundle, so that profiles name functions.
   */
  readonly profile: boolean
  /** Write every replica's whole log of scenario 7 to <outDir>/logs, also when the row passed: to read its churn. */
  readonly scaleLogs: boolean
  readonly outDir: string
}

const full: BenchOptions = {
  quick: false,
  concurrency: 64,
  warmupMillis: 2000,
  rounds: 5,
  roundMillis: 3000,
  lookupRoundMillis: 600,
  cachedProviders: 10_000,
  stormReporters: 1000,
  storms: 10,
  stormWarmUps: 2,
  upstreamLatencyMillis: 50,
  fanOutClients: 200,
  fanOutCommits: 10,
  kills: 3,
  terms: 5,
  idleMillis: 5000,
  startups: 3,
  scaleCounts: [1, 100, 1000, 10_000],
  scaleReplicas: 3,
  scaleIdleMillis: 20_000,
  only: new Set([1, 2, 3, 4, 5, 6, 7]),
  profile: false,
  scaleLogs: false,
  outDir: "bench-results"
}

const quick: BenchOptions = {
  ...full,
  quick: true,
  warmupMillis: 1000,
  rounds: 3,
  roundMillis: 1000,
  lookupRoundMillis: 300,
  storms: 3,
  stormWarmUps: 1,
  fanOutCommits: 3,
  kills: 1,
  terms: 1,
  idleMillis: 2000,
  startups: 2,
  scaleCounts: [1, 100],
  scaleIdleMillis: 5000
}

export const usage = `usage: pnpm bench [--quick] [--concurrency N] [--rounds N] [--round-ms N] [--only 1,3] [--providers 1,100]
                  [--scale-idle-ms N] [--scale-logs] [--profile] [--out DIR]
  --quick            shorter rounds and fewer repetitions, scenario 7 at 1 and 100 providers only (a few minutes)
  --concurrency N    concurrent requesters in scenario 1 (default 64)
  --rounds N         measured rounds per configuration in scenario 1 (default 5)
  --round-ms N       length of one round in ms (default 3000)
  --only 1,3         run only these scenarios (6 brings 1 along: it reuses 1's load; 7 is the provider scale)
  --providers 1,100  scenario 7's provider counts (default 1,100,1000,10000; start with 1: rows compare with it)
  --scale-idle-ms N  scenario 7's idle window per provider count (default 20000)
  --scale-logs       write every replica's whole log of scenario 7 to <out>/logs/scale-N (a failed row always does)
  --profile          run replicas and echo responders under node --cpu-prof (profiles in <out>/profiles),
                     replicas from src/bin.ts rather than the bundle; in scenario 7 also a heap snapshot of the
                     busiest replica (bin/heap-top.ts reads it) and each phase's profile window
  --out DIR          where the JSON results go (default bench-results)`

const positiveInt = (flag: string, text: string | undefined): number => {
  const value = Number(text)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} needs a positive integer\n${usage}`)
  return value
}

const scenarioList = (text: string | undefined): ReadonlySet<number> => {
  const numbers = (text ?? "").split(",").map(Number)
  if (numbers.length === 0 || numbers.some((n) => !Number.isInteger(n) || n < 1 || n > 7)) {
    throw new Error(`--only needs scenario numbers 1-7, e.g. --only 1,3\n${usage}`)
  }
  return new Set(numbers.includes(6) ? [...numbers, 1] : numbers)
}

const providerCounts = (text: string | undefined): ReadonlyArray<number> => {
  const counts = (text ?? "").split(",").map(Number)
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--providers needs positive provider counts, e.g. --providers 1,100\n${usage}`)
  }
  return counts
}

export const parseBenchOptions = (args: ReadonlyArray<string>): BenchOptions => {
  let options = args.includes("--quick") ? quick : full
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]
    const next = () => args[++index]
    switch (arg) {
      case "--quick":
        break
      case "--profile":
        options = { ...options, profile: true }
        break
      case "--scale-logs":
        options = { ...options, scaleLogs: true }
        break
      case "--concurrency":
        options = { ...options, concurrency: positiveInt(arg, next()) }
        break
      case "--rounds":
        options = { ...options, rounds: positiveInt(arg, next()) }
        break
      case "--round-ms":
        options = { ...options, roundMillis: positiveInt(arg, next()) }
        break
      case "--only":
        options = { ...options, only: scenarioList(next()) }
        break
      case "--providers":
        options = { ...options, scaleCounts: providerCounts(next()) }
        break
      case "--scale-idle-ms":
        options = { ...options, scaleIdleMillis: positiveInt(arg, next()) }
        break
      case "--out":
        options = { ...options, outDir: next() ?? options.outDir }
        break
      default:
        throw new Error(`unknown argument ${arg}\n${usage}`)
    }
  }
  return options
}
