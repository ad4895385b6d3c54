// The cluster fixture of @tokenbus/testing (upstream sim, replicas, a raw
// NATS connection, leader lookup, log dumps) wired into vitest: clusters on
// the run's NATS server (`inject("natsUrl")`) with the tests' short lease,
// either shared by a describe block or owned by one test, their replicas'
// logs printed when a test fails, and every replica stopped at the end.
import {
  type ClusterOptions as HarnessClusterOptions,
  deliveredCounts as deliveredCountsAt,
  dumpReplicaLogs,
  type ReplicaCluster,
  type ReplicaProcess,
  startCluster,
  stopAllReplicas
} from "@tokenbus/testing"
import { afterAll, beforeAll, beforeEach, inject, onTestFailed, onTestFinished } from "vitest"

/** Short leases so failover tests take seconds: a dead leader's lock lapses after ~3 s (+ up to ~1 s expiry lag). */
export const testLease = { ttlMillis: 3000, renewEveryMillis: 750, safetyMarginMillis: 500 } as const

export type ClusterOptions = Omit<HarnessClusterOptions, "natsUrl" | "connection">

const printLogs = (title: string, logs: string): void => {
  process.stderr.write(`\n===== replica logs ${title} =====\n${logs}\n`)
}

const startTestCluster = async (options: ClusterOptions): Promise<ReplicaCluster> => {
  try {
    return await startCluster({ lease: testLease, ...options, natsUrl: inject("natsUrl") })
  } catch (error) {
    printLogs("(cluster start failed)", dumpReplicaLogs())
    throw error
  }
}

/**
 * A cluster shared by the tests of the calling describe block, started
 * before them and stopped after them. No test may rely on what another did
 * to it: each takes the cluster as it finds it (`firstToken()`, counters
 * read before and after).
 */
export const useReplicaCluster = (options: ClusterOptions): { readonly cluster: ReplicaCluster } => {
  let cluster: ReplicaCluster | undefined
  beforeAll(async () => {
    cluster = await startTestCluster(options)
  })
  beforeEach((ctx) => {
    ctx.onTestFailed(() => {
      if (cluster !== undefined) printLogs(`for failed test "${ctx.task.name}"`, cluster.dump())
    })
  })
  afterAll(async () => {
    await cluster?.stop()
    await stopAllReplicas()
  })
  return {
    get cluster(): ReplicaCluster {
      if (cluster === undefined) throw new Error("the cluster did not start")
      return cluster
    }
  }
}

/** A cluster for the calling test alone (one that kills replicas or trips breakers), stopped when it ends. */
export const clusterForTest = async (options: ClusterOptions): Promise<ReplicaCluster> => {
  const cluster = await startTestCluster(options)
  onTestFailed((ctx) => {
    printLogs(`for failed test "${ctx.task.name}"`, cluster.dump())
  })
  onTestFinished(() => cluster.stop())
  return cluster
}

/**
 * For each replica, how many messages the run's NATS server has delivered to
 * its subscription on `subject`. Undefined for a replica with no connection.
 */
export const deliveredCounts = (
  replicas: ReadonlyArray<ReplicaProcess>,
  subject: string
): Promise<Map<ReplicaProcess, number | undefined>> => deliveredCountsAt(inject("natsMonitorPort"), replicas, subject)
