/**
 * A tokenbus deployment for the bench: its own simulated upstream, its own
 * subject prefix (so two clusters share the bench's NATS server without
 * seeing each other) and N replica processes started with the shared harness
 * from @tokenbus/testing, at log level Info as in production.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { makeSubjects, type Subjects } from "@tokenbus/core"
import type { Project44SimOptions } from "@tokenbus/sim"
import {
  currentLeader,
  type LeaderInfo,
  PROVIDER,
  randomPrefix,
  replicaConfig,
  type ReplicaProcess,
  SECRET_ENV,
  startReplica,
  startReplicas,
  type StartReplicaOptions,
  startUpstream,
  type Upstream
} from "@tokenbus/testing"
import { getPayload, reportPayload, request, versionOf, type WireReply } from "./WireReply.ts"

/**
 * The bench mints on purpose dozens of times a minute, and reports tokens a
 * moment after they were minted: it lifts the provider's rate limit (the
 * simulated upstream has none either) and turns off the circuit breaker that
 * would take a quick second 401 for bad credentials. Replicas that do not
 * know these fields ignore them.
 */
export const benchProviderSettings = {
  rateLimit: { tokens: 1_000_000, windowMillis: 60_000, burst: 10_000 },
  circuitBreaker: { freshTokenMillis: 0 }
} as const

export interface BenchClusterOptions {
  readonly name: string
  readonly natsUrl: string
  readonly replicas: number
  readonly sim: Partial<Project44SimOptions>
  /** Node options for the replica processes (`--cpu-prof ...`). */
  readonly nodeArgs?: ReadonlyArray<string>
}

export class BenchCluster {
  readonly name: string
  readonly prefix: string
  readonly subjects: Subjects
  readonly upstream: Upstream
  readonly config: Record<string, unknown>
  readonly replicas: Array<ReplicaProcess>
  readonly #replicaOptions: StartReplicaOptions
  #started: number

  constructor(fields: {
    readonly name: string
    readonly prefix: string
    readonly upstream: Upstream
    readonly config: Record<string, unknown>
    readonly replicas: Array<ReplicaProcess>
    readonly replicaOptions: StartReplicaOptions
  }) {
    this.name = fields.name
    this.prefix = fields.prefix
    this.subjects = makeSubjects(fields.prefix)
    this.upstream = fields.upstream
    this.config = fields.config
    this.replicas = fields.replicas
    this.#replicaOptions = fields.replicaOptions
    this.#started = fields.replicas.length
  }

  get running(): Array<ReplicaProcess> {
    return this.replicas.filter((replica) => replica.running)
  }

  leader(): LeaderInfo | undefined {
    return currentLeader(this.replicas, PROVIDER)
  }

  /** Starts one more replica (to replace a killed one) and waits until it is ready. */
  async addReplica(): Promise<ReplicaProcess> {
    const replica = await startReplica(this.config, { ...this.#replicaOptions, name: `${this.name}-${++this.#started}` })
    this.replicas.push(replica)
    return replica
  }

  get(nc: NatsConnection, timeoutMillis = 5000): Promise<WireReply> {
    return request(nc, this.subjects.get(PROVIDER), getPayload, timeoutMillis)
  }

  report(nc: NatsConnection, version: number, timeoutMillis = 10_000): Promise<WireReply> {
    return request(nc, this.subjects.unauthorized(PROVIDER), reportPayload(version), timeoutMillis)
  }

  async currentVersion(nc: NatsConnection): Promise<number> {
    return versionOf(await this.get(nc))
  }

  /** SIGTERM to every replica (so `--cpu-prof` profiles get written), then the upstream closes. */
  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((replica) => replica.stop("SIGTERM")))
    await this.upstream.sim.close()
  }
}

export const startBenchCluster = async (options: BenchClusterOptions): Promise<BenchCluster> => {
  const prefix = randomPrefix()
  const upstream = await startUpstream(options.sim)
  const config = replicaConfig({ natsUrl: options.natsUrl, prefix, upstream, provider: benchProviderSettings })
  const replicaOptions: StartReplicaOptions = {
    logLevel: "Info",
    env: { [SECRET_ENV]: upstream.clientSecret },
    ...(options.nodeArgs === undefined ? {} : { nodeArgs: options.nodeArgs })
  }
  try {
    const replicas = await startReplicas(options.replicas, config, { ...replicaOptions, namePrefix: options.name })
    return new BenchCluster({ name: options.name, prefix, upstream, config, replicas, replicaOptions })
  } catch (error) {
    await upstream.sim.close()
    throw error
  }
}
