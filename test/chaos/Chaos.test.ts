// The chaos suite: every promise of tokenbus checked under faults. A
// three-node NATS cluster (containers, host networking, routes on
// 127.0.0.1), R3 buckets, three replica processes brokering project44 and an
// OAuth2 refresh-token grant, a fleet of consumers calling both upstreams'
// protected resources through the client library, and a nemesis on a seeded
// schedule (SIGKILL and SIGSTOP of leaders, scaling down and up, NATS nodes
// killed and paused, revocations, 401 storms, buckets deleted and made
// again). The checker reads the recorded history and fails the test on any
// violation; its table goes to stdout.
//
// Modes (ChaosSettings.ts):
// - CI (default): the fixed seed and one random seed, about 2 minutes each, then the scale run
//   (ScaleRun.ts: 150 providers, replicas scaled up and down and leaders killed) on the random seed;
// - replay: CHAOS_SEED=<seed> (or `scripts/chaos --seed <seed>`), one CI-length run and the scale run of that seed;
// - soak: CHAOS_MINUTES=<n> (or `scripts/chaos --minutes <n>`), one run of n minutes of faults;
//   it never runs unless asked for.
// CHAOS_NATS=local plays the run on the integration project's single local
// nats-server instead (no NATS faults, R1 buckets): quicker, for working on
// the suite itself.
import { stopAllReplicas } from "@tokenbus/testing"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { type NatsCluster, startNatsCluster } from "../support/NatsCluster.ts"
import { type ChaosTarget, runChaos } from "./ChaosRun.ts"
import { chaosEnvironment, ciRun, FIXED_SEED, type RunSettings, soakRun } from "./ChaosSettings.ts"
import { ciScaleRun, runScaleChaos, type ScaleSettings } from "./ScaleRun.ts"
import { freshSeed } from "./SeededRandom.ts"

const environment = chaosEnvironment()
const local = process.env["CHAOS_NATS"] === "local"

const runs: ReadonlyArray<RunSettings> = environment.minutes !== undefined
  ? [soakRun(environment.seed ?? freshSeed(), environment.minutes)]
  : environment.seed !== undefined
  ? [ciRun(environment.seed, "replay")]
  : [ciRun(FIXED_SEED, "fixed"), ciRun(freshSeed(), "random")]

/** The scale run, on the last run's seed; none in soak mode. */
const scaleRuns: ReadonlyArray<ScaleSettings> = environment.minutes !== undefined ? [] : [ciScaleRun(runs.at(-1)!.seed)]

/** The run's own length plus starting, settling and stopping everything. */
const timeoutOf = (settings: RunSettings) => settings.faultMillis + settings.settleMillis + 180_000

describe("chaos", () => {
  let cluster: NatsCluster | undefined

  beforeAll(async () => {
    console.log(`[chaos] seeds: ${runs.map((run) => `${run.seed} (${run.label})`).join(", ")}`)
    if (!local) cluster = await startNatsCluster()
  })

  afterAll(async () => {
    await stopAllReplicas()
    await cluster?.stop()
  })

  const target = (): ChaosTarget => {
    if (cluster === undefined) {
      return { urls: [inject("natsUrl")], nodes: [], streamReplicas: 1, description: "one local nats-server, R1" }
    }
    return {
      urls: cluster.urls,
      nodes: cluster.nodes,
      streamLeader: (connection, stream) => cluster?.streamLeader(connection, stream) ?? Promise.resolve(undefined),
      streamReplicas: 3,
      description: `NATS cluster ${cluster.name} of ${cluster.nodes.length} containers, R3`
    }
  }

  for (const settings of runs) {
    it(`seed ${settings.seed} (${settings.label}): every invariant holds under faults`, async () => {
      if (cluster !== undefined) await cluster.waitUntilHealthy()
      const result = await runChaos(settings, target())
      console.log(result.report)
      expect(result.violations).toEqual([])
    }, timeoutOf(settings))
  }

  for (const settings of scaleRuns) {
    it(`seed ${settings.seed} (scale): ${settings.providers} providers through scaling and leader kills`, async () => {
      if (cluster !== undefined) await cluster.waitUntilHealthy()
      const result = await runScaleChaos(settings, target())
      console.log(result.report)
      expect(result.violations).toEqual([])
    }, 240_000)
  }
})
