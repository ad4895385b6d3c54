/**
 * Scenario 5: failover. The leader of a 3-replica cluster is killed
 * (SIGKILL: its lock must lapse) or stopped (SIGTERM: it deletes its lock on
 * the way out), and a consumer keeps reporting a 401 for the current version
 * until a reply carries a newer one: that is the first token minted by the
 * new leader, the moment the fleet has recovered. The time the new leader
 * was elected is read from its log line. A replacement replica is started
 * after each round so every round starts from three.
 *
 * The theoretical bounds come from the lease settings (see
 * ARCHITECTURE.md): after a SIGKILL, the lock lapses `ttl` after the last
 * renewal (which was at most `renewEvery` before the kill), the server
 * removes it up to about a second late, a follower retries every
 * `renewEvery / 2`, a replica waiting for a leader retries every 100 ms, and
 * the mint takes the upstream's latency. After a SIGTERM only the watch
 * notification, one acquire, the replica's retry, the new leader's first KV
 * writes and the mint remain.
 */
import type { LeaseConfig } from "@tokenbus/core"
import { type ReplicaCluster, sleep } from "@tokenbus/testing"
import type { BenchOptions } from "../BenchOptions.ts"
import { progress } from "../progress.ts"
import { row, type Row } from "../Row.ts"
import { median } from "../Stats.ts"

export interface FailoverSetup {
  readonly cluster: ReplicaCluster
  readonly lease: LeaseConfig
  readonly options: BenchOptions
}

export interface FailoverRound {
  readonly signal: "SIGKILL" | "SIGTERM"
  readonly killedReplica: string
  /** Signal → the first reply carrying a token newer than the one reported. */
  readonly recoveredMillis: number
  /** Signal → the new leader's "became leader" log line. */
  readonly electedMillis: number | undefined
  readonly newLeader: string | undefined
  readonly reportedVersion: number
  readonly newVersion: number
  readonly refusedReports: number
  /** What the stopped leader logged after the signal, as "+ms message": how its shutdown went. */
  readonly shutdownLog: ReadonlyArray<string>
}

export interface FailoverResult {
  readonly rows: ReadonlyArray<Row>
  readonly rounds: ReadonlyArray<FailoverRound>
  readonly bounds: { readonly sigkillMillis: number; readonly sigtermMillis: number; readonly explanation: string }
}

/** Lock expiry may lag the TTL on the server by up to about a second (ARCHITECTURE.md). */
const EXPIRY_LAG_MILLIS = 1000
/** How often a replica waiting for a leader asks again (Responder.ts). */
const REPLICA_RETRY_MILLIS = 100
/** client-go's default LeaseDuration, the usual Kubernetes leader election. */
const KUBERNETES_LEASE_MILLIS = 15_000

/** A follower sees the lock deleted and takes it: one watch notification and one KV write. */
const ELECTION_MILLIS = 10
/** The new leader's KV writes before its first token is out: fence, rate budget, commit. */
const LEADER_WRITES_MILLIS = 15

const boundsOf = (lease: LeaseConfig, upstreamMillis: number) => {
  const followerRetry = Math.max(100, Math.floor(lease.renewEveryMillis / 2))
  const sigkillMillis = lease.ttlMillis + EXPIRY_LAG_MILLIS + followerRetry + REPLICA_RETRY_MILLIS + upstreamMillis
  const sigtermMillis = ELECTION_MILLIS + REPLICA_RETRY_MILLIS + LEADER_WRITES_MILLIS + upstreamMillis
  return {
    sigkillMillis,
    sigtermMillis,
    explanation: `SIGKILL ≤ ttl ${lease.ttlMillis} + expiry lag ≤ ${EXPIRY_LAG_MILLIS} + follower retry ${followerRetry} ` +
      `+ replica retry ${REPLICA_RETRY_MILLIS} + upstream ${upstreamMillis} = ${sigkillMillis} ms ` +
      `(at least ttl − renewEvery = ${lease.ttlMillis - lease.renewEveryMillis} ms before the lock can lapse); ` +
      `SIGTERM ≈ election (watch + acquire) ~${ELECTION_MILLIS} + replica retry ${REPLICA_RETRY_MILLIS} (its first ` +
      `ask finds no leader) + the new leader's KV writes (fence, budget, commit) ~${LEADER_WRITES_MILLIS} + ` +
      `upstream ${upstreamMillis} ≈ ${sigtermMillis} ms; a Kubernetes-style lease ` +
      `(client-go: leaseDuration 15 s, retryPeriod 2 s) takes over after ≈ 15-17 s when the leader dies`
  }
}

/** Reports `version` until a reply carries a newer token; returns that reply's version and how many were refused. */
const reportUntilNewer = async (setup: FailoverSetup, version: number, deadline: number) => {
  let refused = 0
  while (Date.now() < deadline) {
    try {
      const reply = await setup.cluster.reportUnauthorized(version, 7000)
      if (reply.ok && reply.token.version > version) return { version: reply.token.version, refused }
      refused++
    } catch {
      refused++ // no responders for an instant, or a request lost with the killed replica
      await sleep(5)
    }
  }
  throw new Error(`no token newer than version ${version} within the deadline`)
}

const failOnce = async (setup: FailoverSetup, signal: "SIGKILL" | "SIGTERM"): Promise<FailoverRound> => {
  const { cluster } = setup
  const leader = cluster.leader()
  if (leader === undefined || !leader.replica.running) throw new Error("the cluster has no running leader")
  const reportedVersion = (await cluster.getToken()).version
  const logFrom = leader.replica.logs.length
  const sentAt = leader.replica.kill(signal)
  const started = performance.now()
  // Waiting for the exit first keeps reports away from a connection that is going down.
  if (signal === "SIGKILL") await leader.replica.exited
  const recovered = await reportUntilNewer(setup, reportedVersion, Date.now() + 30_000)
  const recoveredMillis = performance.now() - started
  await leader.replica.exited
  const next = cluster.leader()
  const elected = next !== undefined && next.revision > leader.revision ? next : undefined
  await cluster.addReplica()
  // Let the replacement's watch and the followers' campaigns settle before the next round.
  await sleep(500)
  return {
    signal,
    killedReplica: leader.replica.name,
    recoveredMillis,
    electedMillis: elected === undefined ? undefined : elected.line.time - sentAt,
    newLeader: elected?.replica.name,
    reportedVersion,
    newVersion: recovered.version,
    refusedReports: recovered.refused,
    shutdownLog: leader.replica.logs.slice(logFrom).map((line) =>
      `+${line.time - sentAt} ms ${line.msg}${typeof line["reason"] === "string" ? ` (${line["reason"]})` : ""}`
    )
  }
}

export const runFailover = async (setup: FailoverSetup): Promise<FailoverResult> => {
  const { options, lease } = setup
  const bounds = boundsOf(lease, options.upstreamLatencyMillis)
  const rounds: Array<FailoverRound> = []
  const plan = [
    ...Array.from({ length: options.kills }, () => "SIGKILL" as const),
    ...Array.from({ length: options.terms }, () => "SIGTERM" as const)
  ]
  for (const [index, signal] of plan.entries()) {
    const round = await failOnce(setup, signal)
    rounds.push(round)
    progress(
      `  ${index + 1}/${plan.length} ${signal} ${round.killedReplica}: new leader ${round.newLeader ?? "?"} after ` +
        `${round.electedMillis ?? "?"} ms, first new token (v${round.newVersion}) after ${round.recoveredMillis.toFixed(0)} ms`
    )
  }
  const scenario = `5 failover, 3 replicas, lease ${lease.ttlMillis}/${lease.renewEveryMillis}/${lease.safetyMarginMillis} ms`
  const recoveryRow = (signal: "SIGKILL" | "SIGTERM", metric: string, bound: number, boundLabel: string) => {
    const times = rounds.filter((r) => r.signal === signal).map((r) => r.recoveredMillis)
    const worst = Math.max(...times)
    return row({
      scenario,
      metric,
      median: median(times),
      p99: worst,
      baseline: bound,
      baselineLabel: boundLabel,
      ratio: worst / bound,
      target: "< 15 s (k8s lease)",
      met: worst < KUBERNETES_LEASE_MILLIS,
      note: `${times.length} rounds; the p99 column is the slowest round; the baseline is the theoretical ${boundLabel}`
    })
  }
  const elections = (signal: "SIGKILL" | "SIGTERM") =>
    rounds.filter((r) => r.signal === signal && r.electedMillis !== undefined).map((r) => r.electedMillis as number)
  return {
    bounds,
    rounds,
    rows: [
      recoveryRow("SIGKILL", "SIGKILL leader → first mint by new leader (ms)", bounds.sigkillMillis, "upper bound"),
      row({ scenario, metric: "SIGKILL leader → new leader elected (ms)", median: median(elections("SIGKILL")), p99: Math.max(...elections("SIGKILL")) }),
      recoveryRow("SIGTERM", "SIGTERM leader → new leader serving (ms)", bounds.sigtermMillis, "estimate"),
      row({ scenario, metric: "SIGTERM leader → new leader elected (ms)", median: median(elections("SIGTERM")), p99: Math.max(...elections("SIGTERM")) })
    ]
  }
}

