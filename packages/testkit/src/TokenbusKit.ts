/**
 * A running kit, as a consumer's test holds it: the options of a tokenbus
 * client (`nats`, `prefix`, `verifyKey`, the replicas' public key, and
 * `busKeys` when the replicas seal what they send), the
 * provider and a resource URL that answers 200 to its tokens and 401 to
 * others, controls over the simulated
 * upstream (revoke the tokens, count mints, fail the next token requests) and
 * over the service (its rate limit), and one way to stop it all: `stop()`,
 * or `await using kit = await startTokenbus()`.
 */
import type { Project44Counters, Project44Sim } from "@tokenbus/sim"
import { Redacted } from "effect"
import { elapsed } from "./internal/Progress.ts"
import type { ReplicaFleet } from "./internal/ReplicaFleet.ts"
import { busKeyId, type ProviderPolicy, type RateLimitSettings } from "./internal/ServiceConfigFile.ts"
import type { Teardown } from "./internal/Teardown.ts"
import { checkRateLimit, type KitSettings } from "./StartTokenbusOptions.ts"
import { TestKitError } from "./TestKitError.ts"

export const PROVIDER = "project44"

export interface KitReplica {
  readonly name: string
  readonly pid: number | undefined
}

/** The parts `startTokenbus` hands a kit; not for consumers. */
export interface KitParts {
  readonly settings: KitSettings
  readonly natsUrl: string
  readonly container: { readonly id: string; readonly image: string; readonly monitorUrl: string }
  readonly sim: Project44Sim
  readonly clientId: string
  readonly verifyKey: string
  /** The bus key's base64, when the replicas seal the tokens they send. */
  readonly busKey?: string | undefined
  readonly fleet: ReplicaFleet
  readonly configWith: (policy: ProviderPolicy) => object
  readonly teardown: Teardown
}

export class TokenbusKit implements AsyncDisposable {
  /** For `TokenbusClient.connect(kit)` / `TokenClient.layerConnect(kit)`: NATS on 127.0.0.1. */
  readonly nats: { readonly servers: ReadonlyArray<string> }
  readonly prefix: string
  /**
   * The public key the replicas' tokens are signed with: `TokenbusClient.connect(kit)` verifies every token,
   * as a deployment's clients should.
   */
  readonly verifyKey: string
  /**
   * With `sealBus`, the key the replicas seal access tokens with on the bus (`Redacted`): `TokenbusClient.connect(kit)`
   * opens them. Absent otherwise.
   */
  readonly busKeys: ReadonlyArray<{ readonly id: string; readonly key: Redacted.Redacted<string> }> | undefined
  readonly provider: typeof PROVIDER = PROVIDER
  /** A protected resource of the simulated project44: 200 with a valid token, 401 otherwise. */
  readonly resourceUrl: string
  readonly upstream: { readonly baseUrl: string; readonly tokenUrl: string; readonly clientId: string }
  /** The NATS container: its Docker id, image and monitoring URL. */
  readonly container: { readonly id: string; readonly image: string; readonly monitorUrl: string }
  readonly #parts: KitParts
  #policy: ProviderPolicy

  constructor(parts: KitParts) {
    this.#parts = parts
    this.#policy = parts.settings.policy
    this.nats = { servers: [parts.natsUrl] }
    this.prefix = parts.settings.prefix
    this.verifyKey = parts.verifyKey
    this.busKeys = parts.busKey === undefined ? undefined : [{ id: busKeyId, key: Redacted.make(parts.busKey) }]
    this.resourceUrl = parts.sim.resourceUrl
    this.upstream = { baseUrl: parts.sim.baseUrl, tokenUrl: parts.sim.tokenUrl, clientId: parts.clientId }
    this.container = parts.container
  }

  /** The replica processes of the configuration in force. */
  get replicas(): ReadonlyArray<KitReplica> {
    return this.#parts.fleet.current.map((replica) => ({ name: replica.name, pid: replica.pid }))
  }

  /**
   * Revokes, at the upstream, every token it has issued, the current one with them: the resource answers 401
   * to it until a client reports that and tokenbus mints a new one.
   */
  revoke(): void {
    this.#parts.sim.revokeAll()
  }

  /** Tokens the upstream has minted since the kit started. */
  mintCount(): number {
    return this.#parts.sim.counters().mints
  }

  /** Everything the upstream counted: token requests, mints, 429s, resource calls... */
  upstreamCounters(): Project44Counters {
    return this.#parts.sim.counters()
  }

  /** The next `count` token requests (default 1) get `status` instead of a token: an upstream outage. */
  failNext(status: number, count = 1): void {
    this.#parts.sim.failNext(count, status)
  }

  /**
   * Sets the rate limit the service enforces on its mints, as its configuration's `rateLimit`. Replicas read
   * their configuration only at start, so this restarts them (new ones first, so a token is served all along);
   * the token is kept, and the calls already made count under the new limit. Resolves once a replica with the
   * new limit leads.
   */
  async setRateLimit(limit: RateLimitSettings): Promise<void> {
    const policy = { ...this.#policy, rateLimit: checkRateLimit(limit) }
    if (this.#parts.teardown.closing) {
      throw new TestKitError({ step: "replicas", message: "setRateLimit: the kit is stopped" })
    }
    const started = performance.now()
    await this.#parts.fleet.replace(this.#parts.configWith(policy))
    this.#policy = policy
    this.#parts.settings.log(`rate limit ${JSON.stringify(limit)} in force, replicas restarted in ${elapsed(started)}`)
  }

  /** What the replicas wrote (pino JSON lines and stderr), every replica started so far, for failure output. */
  logs(): string {
    return this.#parts.fleet.all.map((replica) => replica.tail(Number.MAX_SAFE_INTEGER)).join("\n")
  }

  /** Stops the replicas, the upstream and the container, and removes the temp files. Safe to call twice. */
  async stop(): Promise<void> {
    const { log } = this.#parts.settings
    const first = !this.#parts.teardown.closing
    const started = performance.now()
    await this.#parts.teardown.close()
    if (first) log(`stopped (replicas, upstream, NATS container, temp files) in ${elapsed(started)}`)
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop()
  }
}
