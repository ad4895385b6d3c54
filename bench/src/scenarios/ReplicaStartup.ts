/**
 * Scenario 6's start-up figures: replicas started one at a time, each with a
 * cluster of its own (a fresh subject prefix) on the bench's NATS and the
 * single cluster's upstream, once from src/bin.ts (Node strips the types of
 * every workspace module as it loads them) and once from the bundle `pnpm
 * build` makes. For each: spawn → "replica ready", RSS right then, and RSS
 * and private memory once its first token is minted and it has settled.
 */
import {
  logMsg,
  randomPrefix,
  type ReplicaCluster,
  SECRET_ENV,
  sleep,
  spawnReplica
} from "@tokenbus/testing"
import { privateBytes, sampleUsage } from "../ProcessUsage.ts"
import { median } from "../Stats.ts"

export interface StartupFigures {
  readonly readyMillis: number
  readonly rssAtReadyBytes: number
  readonly rssSettledBytes: number
  readonly privateSettledBytes: number
}

export interface StartupSetup {
  readonly cluster: ReplicaCluster
  readonly fromBuild: boolean
  readonly runs: number
}

/** How long after its first mint a replica is left before it is measured settled. */
const settleMillis = 2000

const startOnce = async ({ cluster, fromBuild }: StartupSetup, run: number): Promise<StartupFigures> => {
  const replica = await spawnReplica({ ...cluster.config, prefix: randomPrefix() }, {
    name: `startup-${fromBuild ? "build" : "src"}-${run}`,
    logLevel: "Info",
    fromBuild,
    env: { [SECRET_ENV]: cluster.upstream.clientSecret }
  })
  try {
    const ready = await replica.waitForLog(logMsg("replica ready"), 30_000)
    const pid = replica.pid ?? -1
    const rssAtReadyBytes = sampleUsage(pid).rssBytes
    await replica.waitForLog(logMsg("minted and committed a token"), 30_000)
    await sleep(settleMillis)
    return {
      readyMillis: ready.time - replica.spawnedAt,
      rssAtReadyBytes,
      rssSettledBytes: sampleUsage(pid).rssBytes,
      privateSettledBytes: privateBytes(pid)
    }
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${replica.dump()}`)
  } finally {
    await replica.stop("SIGTERM")
  }
}

/** The median of each figure over `runs` replicas started one after the other. */
export const measureStartup = async (setup: StartupSetup): Promise<StartupFigures & { readonly runs: number }> => {
  const figures: Array<StartupFigures> = []
  for (let run = 1; run <= setup.runs; run++) figures.push(await startOnce(setup, run))
  const of = (pick: (f: StartupFigures) => number) => median(figures.map(pick))
  return {
    runs: figures.length,
    readyMillis: of((f) => f.readyMillis),
    rssAtReadyBytes: of((f) => f.rssAtReadyBytes),
    rssSettledBytes: of((f) => f.rssSettledBytes),
    privateSettledBytes: of((f) => f.privateSettledBytes)
  }
}
