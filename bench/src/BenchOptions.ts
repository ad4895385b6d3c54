/**
 * The command line of `pnpm bench`: how long and how often each scenario
 * runs. The full run takes about three minutes on a 2-core machine; `--quick`
 * trades precision for a run of about a minute (for checking the bench
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
  /** Scenarios to run (1-6); all by default. Scenario 6 needs 1's load, so it brings 1 along. */
  readonly only: ReadonlySet<number>
  /** Start replicas and echo responders with `--cpu-prof`, profiles written to <outDir>/profiles. */
  readonly profile: boolean
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
  only: new Set([1, 2, 3, 4, 5, 6]),
  profile: false,
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
  idleMillis: 2000
}

export const usage = `usage: pnpm bench [--quick] [--concurrency N] [--rounds N] [--round-ms N] [--only 1,3] [--profile] [--out DIR]
  --quick          shorter rounds and fewer repetitions (about a minute)
  --concurrency N  concurrent requesters in scenario 1 (default 64)
  --rounds N       measured rounds per configuration in scenario 1 (default 5)
  --round-ms N     length of one round in ms (default 3000)
  --only 1,3       run only these scenarios (6 brings 1 along: it reuses 1's load)
  --profile        run replicas and echo responders under node --cpu-prof (profiles in <out>/profiles)
  --out DIR        where the JSON results go (default bench-results)`

const positiveInt = (flag: string, text: string | undefined): number => {
  const value = Number(text)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} needs a positive integer\n${usage}`)
  return value
}

const scenarioList = (text: string | undefined): ReadonlySet<number> => {
  const numbers = (text ?? "").split(",").map(Number)
  if (numbers.length === 0 || numbers.some((n) => !Number.isInteger(n) || n < 1 || n > 6)) {
    throw new Error(`--only needs scenario numbers 1-6, e.g. --only 1,3\n${usage}`)
  }
  return new Set(numbers.includes(6) ? [...numbers, 1] : numbers)
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
      case "--out":
        options = { ...options, outDir: next() ?? options.outDir }
        break
      default:
        throw new Error(`unknown argument ${arg}\n${usage}`)
    }
  }
  return options
}
