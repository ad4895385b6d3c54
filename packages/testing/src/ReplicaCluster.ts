/**
 * A tokenbus deployment for one test file or one bench configuration: its
 * own simulated project44 with random credentials, a replica configuration
 * with a random subject prefix (so clusters sharing one NATS server never see
 * each other's subjects or KV buckets) and a signing key pair of its own
 * (`verifyKey` is what its clients verify with), optionally a bus key of its
 * own (`busKeys` is what its clients open tokens with), N replica processes,
 * and a raw NATS connection for wire-level requests. It finds the leader
 * from the replicas' logs, dumps those logs for failure output, and checks
 * them for leaked secrets.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { rm } from "node:fs/promises"
import { dirname } from "node:path"
import type { Project44Sim, Project44SimOptions } from "@tokenbus/sim"
import { BUS_KEY_ENV, type BusKey, generateBusKey, testBus } from "./BusKeys.ts"
import { currentLeader, type LeaderInfo, settledLeader } from "./currentLeader.ts"
import { linesOfAll, type LoggedBy } from "./linesOfAll.ts"
import { logMsg, type LogPredicate } from "./LogLine.ts"
import { type LeaseSettings, PROVIDER, randomPrefix, replicaConfig, SECRET_ENV } from "./ReplicaConfig.ts"
import type { ReplicaProcess } from "./ReplicaProcess.ts"
import {
  defaultSigningKeys,
  generateSigningKeys,
  privateKeyBody,
  SIGNING_KEY_ENV,
  type SigningKeys
} from "./SigningKeys.ts"
import { dumpReplicaLogs, startReplica, startReplicas, type StartReplicaOptions } from "./startReplica.ts"
import { startUpstream, type Upstream } from "./Upstream.ts"
import { waitUntil } from "./waitUntil.ts"
import { expectToken, getPayload, reportPayload, requestReply, type WireReply, type WireToken } from "./WireReply.ts"

export interface ClusterOptions {
  readonly natsUrl: string
  readonly replicas: number
  /** Replicas are named `<name>-1`, `<name>-2`...; default "replica". */
  readonly name?: string
  /** Absent: the service's default lease. */
  readonly lease?: LeaseSettings
  readonly requestTimeoutMillis?: number
  /** Fields that replace the provider's defaults (rate limit, circuit breaker, secret source...). */
  readonly provider?: Readonly<Record<string, unknown>>
  readonly sim?: Partial<Project44SimOptions>
  /** Seal tokens on the bus with a key of the cluster's own (`cluster.busKeys`); default: in clear. */
  readonly bus?: boolean
  /** The subject prefix; default: a random one, unique per cluster. */
  readonly prefix?: string
  readonly replica?: StartReplicaOptions
  /** A connection of the caller's for the wire requests, left open by `stop`; default: one of the cluster's own. */
  readonly connection?: NatsConnection
}

interface ClusterFields {
  readonly name: string
  readonly natsUrl: string
  readonly prefix: string
  readonly upstream: Upstream
  readonly config: Record<string, unknown>
  /** Absent: the test process's default pair, what replicas started without a key of their own sign with. */
  readonly signingKeys?: SigningKeys
  readonly busKey?: BusKey
  readonly replicas: Array<ReplicaProcess>
  readonly replicaOptions: StartReplicaOptions
  readonly nats: NatsConnection
  readonly ownsConnection: boolean
}

export class ReplicaCluster {
  readonly name: string
  readonly natsUrl: string
  readonly prefix: string
  readonly upstream: Upstream
  /** The replicas' config file content. */
  readonly config: Record<string, unknown>
  /** The key pair the replicas sign with (the private key reaches them through `$TOKENBUS_SIGNING_KEY`). */
  readonly signingKeys: SigningKeys
  /** The key the replicas seal tokens on the bus with (through `$TOKENBUS_TEST_BUS_KEY`); absent: in clear. */
  readonly busKey: BusKey | undefined
  /** Every replica of the cluster, stopped ones included. */
  readonly replicas: Array<ReplicaProcess>
  /** The raw connection wire requests go through. */
  readonly nats: NatsConnection
  readonly #replicaOptions: StartReplicaOptions
  readonly #ownsConnection: boolean

  constructor(fields: ClusterFields) {
    this.name = fields.name
    this.natsUrl = fields.natsUrl
    this.prefix = fields.prefix
    this.upstream = fields.upstream
    this.config = fields.config
    this.signingKeys = fields.signingKeys ?? defaultSigningKeys
    this.busKey = fields.busKey
    this.replicas = fields.replicas
    this.nats = fields.nats
    this.#replicaOptions = fields.replicaOptions
    this.#ownsConnection = fields.ownsConnection
  }

  get sim(): Project44Sim {
    return this.upstream.sim
  }

  /** The public key, PEM: a client's `verifyKey`. */
  get verifyKey(): string {
    return this.signingKeys.publicKeyPem
  }

  /** The ring a client opens the cluster's tokens with (`busKeys`): empty when it sends them in clear. */
  get busKeys(): ReadonlyArray<BusKey> {
    return this.busKey === undefined ? [] : [this.busKey]
  }

  /** Subject and bucket names as PROTOCOL.md gives them, for the simulated provider unless told. */
  readonly subjects = {
    get: (provider: string = PROVIDER) => `${this.prefix}.token.${provider}.get`,
    unauthorized: (provider: string = PROVIDER) => `${this.prefix}.token.${provider}.unauthorized`,
    updates: (provider: string = PROVIDER) => `${this.prefix}.token.${provider}.updates`,
    tokenBucket: () => `${this.prefix}-tokens`
  }

  /** Alive and not SIGSTOPped. */
  get running(): Array<ReplicaProcess> {
    return this.replicas.filter((replica) => replica.running)
  }

  /** A raw request; the reply parsed as JSON. */
  request(subject: string, payload: string | Uint8Array, timeoutMs = 5000): Promise<WireReply> {
    return requestReply(this.nats, subject, payload, timeoutMs)
  }

  /** A raw `get` for the provider's token. */
  async getToken(timeoutMs = 5000): Promise<WireToken> {
    return expectToken(await this.request(this.subjects.get(), getPayload, timeoutMs))
  }

  /** A raw 401 report for `version`. */
  reportUnauthorized(version: number, timeoutMs = 10_000): Promise<WireReply> {
    return this.request(this.subjects.unauthorized(), reportPayload(version), timeoutMs)
  }

  /**
   * Waits for a leader and its first mint, then asks for the current token:
   * the first one, unless something made the leader mint again since.
   */
  async firstToken(timeoutMs = 20_000): Promise<WireToken> {
    const minted = logMsg("minted and committed a token", { provider: PROVIDER })
    await waitUntil(() => this.linesOfAll(minted).length > 0, timeoutMs, `${this.name}: no replica minted a token`)
    await this.settledLeader(timeoutMs)
    return this.getToken()
  }

  /** Waits until every running replica has joined and the leader is the one they agree on (see currentLeader.ts). */
  async settledLeader(timeoutMs = 20_000): Promise<LeaderInfo> {
    let settled: LeaderInfo | undefined
    await waitUntil(
      () => (settled = settledLeader(this.replicas, PROVIDER)) !== undefined,
      timeoutMs,
      `${this.name}: the replicas did not settle on a leader`
    )
    return settled!
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
      `${this.name}: no replica became leader (after lease revision ${afterRevision})`
    )
    const leader = this.leader()
    if (leader === undefined) throw new Error("unreachable")
    return leader
  }

  /** Lines matching `predicate` across all replicas, in the order they were logged. */
  linesOfAll(predicate: LogPredicate): Array<LoggedBy<ReplicaProcess>> {
    return linesOfAll(this.replicas, predicate)
  }

  /** Starts one more replica (to replace a stopped one) and waits until it is ready. */
  async addReplica(): Promise<ReplicaProcess> {
    const replica = await startReplica(this.config, {
      ...this.#replicaOptions,
      name: `${this.name}-${this.replicas.length + 1}`
    })
    this.replicas.push(replica)
    return replica
  }

  /**
   * Throws unless every replica wrote logs and none wrote the client secret
   * (nor its Basic header), the signing key or any token the upstream ever issued, on stdout
   * or stderr. The error names what leaked, never the value.
   */
  expectNoSecretsInLogs(): void {
    const { clientId, clientSecret } = this.upstream
    const needles: Array<readonly [string, string]> = [
      ["the client secret", clientSecret],
      ["the Basic header", Buffer.from(`${clientId}:${clientSecret}`).toString("base64")],
      ["the signing key", privateKeyBody(this.signingKeys)],
      ...this.busKeys.map((key) => [`bus key ${key.id}`, key.key] as const),
      ...this.sim.issuedTokens().flatMap((token, index) => [
        [`issued token #${index + 1}`, token] as const,
        // the random part alone, in case a prefix were stripped
        [`issued token #${index + 1} without its prefix`, token.replace(/^p44_/, "")] as const
      ])
    ]
    const problems = this.replicas.flatMap((replica) => {
      const output = replica.output
      if (output.length === 0) return [`${replica.name} wrote no logs at all`]
      return needles.filter(([, needle]) => output.includes(needle)).map(([what]) => `${replica.name} leaked ${what}`)
    })
    if (problems.length > 0) throw new Error(problems.join("; "))
  }

  /** The replicas' logs, for failure output. */
  dump(): string {
    return dumpReplicaLogs(this.replicas)
  }

  /**
   * Stops every replica (SIGTERM lets `--cpu-prof` write its profile) and
   * removes their config files, then closes the connection and the upstream.
   */
  async stop(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    await Promise.all(this.replicas.map((replica) => replica.stop(signal)))
    await Promise.all(this.replicas.map((replica) => rm(dirname(replica.configPath), { recursive: true, force: true })))
    if (this.#ownsConnection) await this.nats.close().catch(() => undefined)
    await this.sim.close()
  }
}

export const startCluster = async (options: ClusterOptions): Promise<ReplicaCluster> => {
  const name = options.name ?? "replica"
  const prefix = options.prefix ?? randomPrefix()
  const upstream = await startUpstream(options.sim)
  const busKey = options.bus === true ? generateBusKey() : undefined
  const config = replicaConfig({
    natsUrl: options.natsUrl,
    prefix,
    upstream,
    ...(options.lease === undefined ? {} : { lease: options.lease }),
    ...(options.requestTimeoutMillis === undefined ? {} : { requestTimeoutMillis: options.requestTimeoutMillis }),
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    ...(busKey === undefined ? {} : { bus: testBus(busKey) })
  })
  const signingKeys = generateSigningKeys()
  const env = {
    [SECRET_ENV]: upstream.clientSecret,
    [SIGNING_KEY_ENV]: signingKeys.privateKeyPem,
    ...(busKey === undefined ? {} : { [BUS_KEY_ENV]: busKey.key })
  }
  const replicaOptions = { ...options.replica, env: { ...env, ...options.replica?.env } }
  let replicas: Array<ReplicaProcess> = []
  try {
    replicas = await startReplicas(options.replicas, config, { ...replicaOptions, namePrefix: name })
    const nats = options.connection ?? (await connect({ servers: options.natsUrl, name: `${prefix}-${name}-wire` }))
    const ownsConnection = options.connection === undefined
    const natsUrl = options.natsUrl
    return new ReplicaCluster({
      name,
      natsUrl,
      prefix,
      upstream,
      config,
      signingKeys,
      ...(busKey === undefined ? {} : { busKey }),
      replicas,
      replicaOptions,
      nats,
      ownsConnection
    })
  } catch (error) {
    await Promise.all(replicas.map((replica) => replica.stop("SIGKILL")))
    await upstream.sim.close()
    throw error
  }
}
