/**
 * The tokenbus deployment a chaos run attacks: replica processes (started
 * with `startReplica` from @tokenbus/testing, brokering the run's providers) on a
 * NATS cluster, its two KV buckets kept at the cluster's replication factor,
 * and a raw NATS connection for wire requests and bucket management. It
 * records in the history every replica it starts, every signal it sends and
 * every exit, and at the end the replicas' log lines about membership
 * ("joined the cluster", "left the cluster"), leadership per provider and
 * commits. Which replica leads a provider is read from those logs by term:
 * each takeover of a provider takes a fresh term (a write of the leader's
 * member key), and terms keep growing when the leases bucket is made again
 * and its revisions do not.
 */
import { defaultLeaseConfig } from "@tokenbus/core"
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import {
  getPayload,
  type LeaseSettings,
  type LogLine,
  randomPrefix,
  type ReplicaProcess,
  type ReplicaSignal,
  requestReply,
  startReplica,
  testStorage,
  type WireToken
} from "@tokenbus/testing"
import { LEASE, REPLICA_REQUEST_TIMEOUT_MILLIS } from "./ChaosSettings.ts"
import type { History, LogEvent } from "./History.ts"
import type { ChaosUpstreams } from "./Upstreams.ts"

export type BucketKind = "tokens" | "leases"

export interface DeploymentOptions {
  readonly urls: ReadonlyArray<string>
  /** The KV buckets' replication factor: 3 on the cluster, 1 on a single server. */
  readonly streamReplicas: number
  /** The providers' entries and the secrets they reference (Upstreams.ts, ScaleUpstream.ts). */
  readonly upstreams: Pick<ChaosUpstreams, "providers" | "env">
  readonly history: History
  /** The replicas' `lease`; absent: the chaos suite's (LEASE); null: none, so the service's default. */
  readonly lease?: LeaseSettings | null
}

/** Log lines kept in the history: leadership, commits and upstream trouble, plus every warning and error. */
const keptMessages = new Set([
  "became leader",
  "stepped down",
  "minted and committed a token",
  "adopted the stored token",
  "released the lock",
  "joined the cluster",
  "left the cluster",
  "replica ready"
])

const logEvent = (replica: ReplicaProcess, line: LogLine): LogEvent => {
  const number = (key: string) => (typeof line[key] === "number" ? { [key]: line[key] as number } : {})
  const reason = typeof line["reason"] === "string" ? { reason: line["reason"] } : {}
  const error = typeof line["error"] === "string" ? { detail: line["error"] } : {}
  const provider = line.provider === undefined ? {} : { provider: line.provider }
  const replicaId = line.replica === undefined ? {} : { replicaId: line.replica }
  return {
    type: "log",
    at: line.time,
    replica: replica.name,
    ...replicaId,
    msg: line.msg,
    ...provider,
    ...number("term"),
    ...number("version"),
    ...number("revision"),
    ...reason,
    ...error
  }
}

export class Deployment {
  readonly prefix = randomPrefix()
  readonly replicas: Array<ReplicaProcess> = []
  readonly config: Record<string, unknown>
  readonly #options: DeploymentOptions
  #wire: NatsConnection | undefined
  #jsm: JetStreamManager | undefined
  #started = 0

  constructor(options: DeploymentOptions) {
    this.#options = options
    this.config = {
      // `replicas` is the product's KV replication setting; until the product reads it, `ensureReplication` scales.
      nats: { servers: [...options.urls], replicas: options.streamReplicas },
      prefix: this.prefix,
      ...(options.lease === null ? {} : { lease: options.lease ?? LEASE }),
      requestTimeoutMillis: REPLICA_REQUEST_TIMEOUT_MILLIS,
      storage: testStorage,
      providers: options.upstreams.providers
    }
  }

  get wire(): NatsConnection {
    if (this.#wire === undefined) throw new Error("the deployment is not connected")
    return this.#wire
  }

  bucketName(kind: BucketKind): string {
    return `${this.prefix}-${kind}`
  }

  async connect(): Promise<void> {
    this.#wire = await connect({ servers: [...this.#options.urls], name: `${this.prefix}-chaos-wire` })
    this.#jsm = await jetstreamManager(this.#wire, { timeout: 10_000 })
  }

  /** Starts one more replica and waits until it is ready. */
  async addReplica(): Promise<ReplicaProcess> {
    const name = `chaos-${++this.#started}`
    const replica = await startReplica(this.config, { name, env: this.#options.upstreams.env, logLevel: "Info" })
    this.replicas.push(replica)
    this.#options.history.add({ type: "replica-start", at: Date.now(), replica: name })
    void replica.exited.then((exit) =>
      this.#options.history.add({ type: "replica-exit", at: Date.now(), replica: name, ...exit })
    )
    return replica
  }

  /** Alive and not SIGSTOPped. */
  running(): Array<ReplicaProcess> {
    return this.replicas.filter((replica) => replica.running)
  }

  /** Alive, paused or not. */
  alive(): Array<ReplicaProcess> {
    return this.replicas.filter((replica) => replica.exit === undefined)
  }

  signal(replica: ReplicaProcess, signal: ReplicaSignal): void {
    this.#options.history.add({ type: "signal", at: Date.now(), replica: replica.name, signal })
    replica.kill(signal)
  }

  /** Sends `signal` and waits for the replica to exit (SIGKILL after 10 s). */
  async stopReplica(replica: ReplicaProcess, signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    this.#options.history.add({ type: "signal", at: Date.now(), replica: replica.name, signal })
    await replica.stop(signal)
  }

  /**
   * The replica leading `provider` as the logs say: among live replicas, the
   * one whose last "became leader" has the highest term and was not followed
   * by "stepped down".
   */
  leaderOf(provider: string): ReplicaProcess | undefined {
    let best: { replica: ReplicaProcess; term: number } | undefined
    for (const replica of this.alive()) {
      const lines = replica.logs.filter((line) => line.provider === provider)
      const last = lines.findLast((line) => line.msg === "became leader" || line.msg === "stepped down")
      if (last?.msg !== "became leader") continue
      const term = Number(last["term"])
      if (best === undefined || term > best.term) best = { replica, term }
    }
    return best?.replica
  }

  /** The current token as a `get` on the wire answers it, or undefined if none came. */
  async currentToken(provider: string): Promise<WireToken | undefined> {
    const subject = `${this.prefix}.token.${provider}.get`
    const reply = await requestReply(this.wire, subject, getPayload, REPLICA_REQUEST_TIMEOUT_MILLIS + 2000)
      .catch(() => undefined)
    return reply?.ok === true ? reply.token : undefined
  }

  /** Creates `kind`'s bucket as the replicas do (same history and TTL), at the run's replication factor. */
  async createBucket(kind: BucketKind): Promise<void> {
    const ttl = (this.config["lease"] as LeaseSettings | undefined)?.ttlMillis ?? defaultLeaseConfig.ttlMillis
    const options = kind === "tokens" ? { history: 64 } : { history: 1, ttl }
    await new Kvm(this.wire).create(this.bucketName(kind), { ...options, replicas: this.#options.streamReplicas })
  }

  async deleteBucket(kind: BucketKind): Promise<void> {
    await this.#jetstream().streams.delete(`KV_${this.bucketName(kind)}`)
  }

  /** Each bucket's replication factor as JetStream reports it. */
  async bucketReplicas(): Promise<Record<BucketKind, number>> {
    const of = async (kind: BucketKind) =>
      (await this.#jetstream().streams.info(`KV_${this.bucketName(kind)}`)).config.num_replicas
    return { tokens: await of("tokens"), leases: await of("leases") }
  }

  /**
   * Scales a bucket the replicas created below the run's replication factor
   * up to it (JetStream allows raising `num_replicas` in place). Returns the
   * buckets that needed it: those the product created without honouring
   * `nats.replicas`.
   */
  async ensureReplication(): Promise<Array<BucketKind>> {
    const scaled: Array<BucketKind> = []
    for (const [kind, replicas] of Object.entries(await this.bucketReplicas()) as Array<[BucketKind, number]>) {
      if (replicas >= this.#options.streamReplicas) continue
      await this.#jetstream().streams.update(`KV_${this.bucketName(kind)}`, {
        num_replicas: this.#options.streamReplicas
      })
      scaled.push(kind)
    }
    return scaled
  }

  /** Adds the replicas' leadership and commit lines, warnings and errors to the history. */
  recordLogs(): void {
    for (const replica of this.replicas) {
      for (const line of replica.logs) {
        if (keptMessages.has(line.msg) || line.level >= 40) this.#options.history.add(logEvent(replica, line))
      }
    }
  }

  /** Kills every replica and closes the wire connection. */
  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((replica) => replica.stop("SIGKILL")))
    await this.#wire?.close().catch(() => undefined)
  }

  #jetstream(): JetStreamManager {
    if (this.#jsm === undefined) throw new Error("the deployment is not connected")
    return this.#jsm
  }
}
