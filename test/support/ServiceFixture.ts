// Shared setup for the end-to-end tests: a simulated project44 upstream with
// random credentials, a service config with a random subject prefix (so tests
// sharing the run's one NATS server never see each other's subjects or KV
// buckets), N replica processes, a raw NATS connection for wire-level
// requests, and helpers to find the leader and to read the NATS server's
// per-subscription counters.
import { connect, type NatsConnection } from "@nats-io/transport-node"
import type { Project44Sim, Project44SimOptions } from "@tokenbus/sim"
import {
  currentLeader,
  dumpReplicaLogs,
  type LeaderInfo,
  type LogLine,
  type LogPredicate,
  PROVIDER,
  randomPrefix,
  replicaConfig,
  type ReplicaProcess,
  SECRET_ENV,
  startReplicas,
  type StartReplicaOptions,
  startUpstream,
  type Upstream,
  waitUntil
} from "@tokenbus/testing"
import { afterAll, beforeAll, expect, inject } from "vitest"
import { useReplicaCleanup } from "./useReplicaCleanup.ts"

export {
  type LeaderInfo,
  PROVIDER,
  randomPrefix,
  SECRET_ENV,
  sleep,
  startUpstream,
  type Upstream,
  waitUntil
} from "@tokenbus/testing"

/** Short leases so failover tests take seconds: a dead leader's lock lapses after ~3 s (+ up to ~1 s expiry lag). */
export const testLease = { ttlMillis: 3000, renewEveryMillis: 750, safetyMarginMillis: 500 } as const

// ---------------------------------------------------------------------------
// Configuration

export interface ConfigOptions {
  readonly natsUrl: string
  readonly prefix: string
  readonly upstream: Upstream
  readonly requestTimeoutMillis?: number
  /** Fields that replace the provider's defaults (rate limit, circuit breaker, secret source...). */
  readonly provider?: Readonly<Record<string, unknown>>
}

/** The replica config file's content with the tests' short lease; the secret is referenced through `$P44_SECRET`. */
export const serviceConfig = ({ provider, ...options }: ConfigOptions): Record<string, unknown> => {
  const config = replicaConfig({ ...options, lease: testLease })
  const [base] = config["providers"] as ReadonlyArray<Record<string, unknown>>
  return { ...config, providers: [{ ...base, ...provider }] }
}

// ---------------------------------------------------------------------------
// The wire protocol, as a test sees it (plain JSON, no decoding by tokenbus code)

export interface WireToken {
  readonly provider: string
  readonly version: number
  readonly accessToken: string
  readonly tokenType: string
  readonly issuedAt: number
  readonly expiresAt?: number
  readonly reason: string
}

export interface WireError {
  readonly _tag: string
  readonly message: string
  readonly [field: string]: unknown
}

export type WireReply =
  | { readonly v: number; readonly ok: true; readonly token: WireToken }
  | { readonly v: number; readonly ok: false; readonly error: WireError }

export const expectToken = (reply: WireReply): WireToken => {
  if (!reply.ok) throw new Error(`expected a token, got error ${JSON.stringify(reply.error)}`)
  return reply.token
}

export const expectError = (reply: WireReply, tag: string): WireError => {
  if (reply.ok) throw new Error(`expected a ${tag} error, got token version ${reply.token.version}`)
  expect(reply.error._tag, JSON.stringify(reply.error)).toBe(tag)
  expect(typeof reply.error.message).toBe("string")
  return reply.error
}

// ---------------------------------------------------------------------------
// NATS server monitoring

interface ConnzSubscription {
  readonly subject: string
  readonly qgroup?: string
  readonly msgs: number
}

interface ConnzConnection {
  readonly name?: string
  readonly subscriptions_list_detail?: ReadonlyArray<ConnzSubscription>
}

/**
 * For each replica, how many messages the NATS server has delivered to its
 * subscription on `subject` (read from `/connz?subs=detail`, matched by the
 * replica's connection name). Undefined for a replica with no connection.
 */
export const deliveredCounts = async (
  replicas: ReadonlyArray<ReplicaProcess>,
  subject: string
): Promise<Map<ReplicaProcess, number | undefined>> => {
  const port = inject("natsMonitorPort")
  const response = await fetch(`http://127.0.0.1:${port}/connz?subs=detail&limit=4096`, {
    signal: AbortSignal.timeout(5000)
  })
  const body = (await response.json()) as { readonly connections?: ReadonlyArray<ConnzConnection> }
  const counts = new Map<ReplicaProcess, number | undefined>()
  for (const replica of replicas) {
    const connection = (body.connections ?? []).find((c) => c.name === replica.natsName)
    const subscription = connection?.subscriptions_list_detail?.find((s) => s.subject === subject)
    counts.set(replica, connection === undefined ? undefined : (subscription?.msgs ?? 0))
  }
  return counts
}

// ---------------------------------------------------------------------------
// A cluster of replica processes

export interface ClusterOptions {
  readonly replicas: number
  readonly requestTimeoutMillis?: number
  readonly provider?: Readonly<Record<string, unknown>>
  readonly sim?: Partial<Project44SimOptions>
  readonly replica?: StartReplicaOptions
}

export class ReplicaCluster {
  readonly natsUrl: string
  readonly prefix: string
  readonly upstream: Upstream
  /** The replicas' config file content. */
  readonly config: Record<string, unknown>
  readonly replicas: Array<ReplicaProcess>
  readonly #nats: NatsConnection

  constructor(fields: {
    readonly natsUrl: string
    readonly prefix: string
    readonly upstream: Upstream
    readonly config: Record<string, unknown>
    readonly replicas: Array<ReplicaProcess>
    readonly nats: NatsConnection
  }) {
    this.natsUrl = fields.natsUrl
    this.prefix = fields.prefix
    this.upstream = fields.upstream
    this.config = fields.config
    this.replicas = fields.replicas
    this.#nats = fields.nats
  }

  get sim(): Project44Sim {
    return this.upstream.sim
  }

  /** A raw NATS connection of the test's own, closed with the cluster. */
  get nats(): NatsConnection {
    return this.#nats
  }

  readonly subjects = {
    get: (provider: string = PROVIDER) => `${this.prefix}.token.${provider}.get`,
    unauthorized: (provider: string = PROVIDER) => `${this.prefix}.token.${provider}.unauthorized`,
    updates: (provider: string = PROVIDER) => `${this.prefix}.token.${provider}.updates`
  }

  get running(): Array<ReplicaProcess> {
    return this.replicas.filter((replica) => replica.running)
  }

  /** A raw request; the reply parsed as JSON. */
  async request(subject: string, payload: string | Uint8Array, timeoutMs = 5000): Promise<WireReply> {
    const reply = await this.#nats.request(subject, payload, { timeout: timeoutMs })
    return JSON.parse(reply.string()) as WireReply
  }

  /** A raw `get` for the provider's token. */
  async getToken(timeoutMs = 5000): Promise<WireToken> {
    return expectToken(await this.request(this.subjects.get(), JSON.stringify({ v: 1 }), timeoutMs))
  }

  /** A raw 401 report for `version`. */
  async reportUnauthorized(version: number, timeoutMs = 10_000): Promise<WireReply> {
    return this.request(this.subjects.unauthorized(), JSON.stringify({ v: 1, version }), timeoutMs)
  }

  /** The current leader: the replica whose "became leader" has the highest lease revision. */
  leader(): LeaderInfo | undefined {
    return currentLeader(this.replicas, PROVIDER)
  }

  /** Waits for a replica to become leader with a lease revision above `afterRevision`. */
  async waitForLeader(timeoutMs: number, afterRevision = 0): Promise<LeaderInfo> {
    await waitUntil(
      () => (this.leader()?.revision ?? 0) > afterRevision,
      timeoutMs,
      `no replica became leader (after lease revision ${afterRevision})`
    )
    const leader = this.leader()
    if (leader === undefined) throw new Error("unreachable")
    return leader
  }

  /** Lines matching `predicate` across all replicas. */
  linesOfAll(predicate: LogPredicate): Array<{ readonly replica: ReplicaProcess; readonly line: LogLine }> {
    return this.replicas.flatMap((replica) => replica.lines(predicate).map((line) => ({ replica, line })))
  }

  /**
   * Asserts that no replica wrote the client secret (nor its Basic header) or
   * any token the upstream ever issued, on stdout or stderr.
   */
  expectNoSecretsInLogs(): void {
    const { clientId, clientSecret } = this.upstream
    const issued = this.sim.issuedTokens()
    const needles = [
      clientSecret,
      Buffer.from(`${clientId}:${clientSecret}`).toString("base64"),
      ...issued,
      // the random part alone, in case a prefix were stripped
      ...issued.map((token) => token.replace(/^p44_/, ""))
    ]
    for (const replica of this.replicas) {
      const output = replica.output
      expect(output.length, `${replica.name} wrote no logs at all`).toBeGreaterThan(0)
      for (const needle of needles) {
        expect(output.includes(needle), `${replica.name} leaked a secret or an access token`).toBe(false)
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((replica) => replica.stop("SIGKILL")))
    await this.#nats.close().catch(() => undefined)
    await this.sim.close()
  }
}

export const startCluster = async (options: ClusterOptions): Promise<ReplicaCluster> => {
  const natsUrl = inject("natsUrl")
  const prefix = randomPrefix()
  const upstream = await startUpstream(options.sim)
  const config = serviceConfig({
    natsUrl,
    prefix,
    upstream,
    ...(options.requestTimeoutMillis === undefined ? {} : { requestTimeoutMillis: options.requestTimeoutMillis }),
    ...(options.provider === undefined ? {} : { provider: options.provider })
  })
  let replicas: Array<ReplicaProcess>
  try {
    replicas = await startReplicas(options.replicas, config, {
      ...options.replica,
      namePrefix: "replica",
      env: { [SECRET_ENV]: upstream.clientSecret, ...options.replica?.env }
    })
  } catch (error) {
    await upstream.sim.close()
    throw error
  }
  const nats = await connect({ servers: natsUrl, name: `${prefix}-test` })
  return new ReplicaCluster({ natsUrl, prefix, upstream, config, replicas, nats })
}

/**
 * Registers, in the calling describe block: a cluster started before its
 * tests and stopped after them, replica logs printed for every failing test
 * (and when the cluster cannot start), and every replica SIGKILLed at the end.
 */
export const useReplicaCluster = (options: ClusterOptions): { readonly cluster: ReplicaCluster } => {
  useReplicaCleanup()
  let cluster: ReplicaCluster | undefined
  beforeAll(async () => {
    try {
      cluster = await startCluster(options)
    } catch (error) {
      process.stderr.write(`\n===== replica logs (cluster start failed) =====\n${dumpReplicaLogs()}\n`)
      throw error
    }
  })
  afterAll(async () => {
    await cluster?.stop()
  })
  return {
    get cluster(): ReplicaCluster {
      if (cluster === undefined) throw new Error("the cluster did not start")
      return cluster
    }
  }
}
