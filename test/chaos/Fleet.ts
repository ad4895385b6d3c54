/**
 * The consumers of a chaos run: `TokenbusClient`s, each on its own NATS
 * connection (to the cluster's nodes in a seeded order, so they spread over
 * them), calling both upstreams' protected resources in a loop with the
 * client library: `getToken`, then `fetch` (which attaches the token, reports
 * a 401 and retries once). Every call's outcome goes to the history, and a
 * sampler records each change of the token a consumer holds (`peek`), which
 * is what the recovery and monotonicity checks read. The loops stop by
 * themselves at their deadline or after a bounded number of rounds.
 */
import { TokenbusClient } from "@tokenbus/client"
import type { Token } from "@tokenbus/core"
import { sleep } from "@tokenbus/testing"
import { Redacted } from "effect"
import { CLIENT_REQUEST_TIMEOUT_MILLIS, PROVIDERS } from "./ChaosSettings.ts"
import { fingerprint, type History } from "./History.ts"
import type { SeededRandom } from "./SeededRandom.ts"

export interface FleetOptions {
  readonly urls: ReadonlyArray<string>
  readonly prefix: string
  readonly count: number
  readonly cadenceMillis: number
  readonly random: SeededRandom
  readonly history: History
  readonly resourceUrl: (provider: string) => string
  /** Replicas alive and not SIGSTOPped right now. */
  readonly replicasUp: () => number
}

interface Consumer {
  readonly name: string
  readonly client: TokenbusClient
}

const SAMPLE_EVERY_MILLIS = 25

const describeError = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const message = "message" in error ? `: ${String(error.message)}` : ""
    return `${String(error._tag)}${message}`
  }
  return error instanceof Error ? error.message : String(error)
}

const tokenFields = (token: Token) => ({
  version: token.version,
  token: fingerprint(Redacted.value(token.accessToken))
})

export class Fleet {
  readonly #options: FleetOptions
  readonly #consumers: Array<Consumer>

  private constructor(options: FleetOptions, consumers: Array<Consumer>) {
    this.#options = options
    this.#consumers = consumers
  }

  /** Connects the consumers; each asks for both providers' tokens once, so all hold them before faults begin. */
  static async start(options: FleetOptions): Promise<Fleet> {
    const consumers: Array<Consumer> = []
    try {
      for (let index = 1; index <= options.count; index++) {
        const name = `consumer-${index}`
        const servers = options.random.shuffle(options.urls)
        const client = await TokenbusClient.connect({
          prefix: options.prefix,
          requestTimeoutMillis: CLIENT_REQUEST_TIMEOUT_MILLIS,
          nats: { servers, name: `${options.prefix}-${name}` }
        })
        consumers.push({ name, client })
      }
      for (const consumer of consumers) for (const provider of PROVIDERS) await consumer.client.getToken(provider)
    } catch (error) {
      await Promise.all(consumers.map((consumer) => consumer.client.close().catch(() => undefined)))
      throw error
    }
    return new Fleet(options, consumers)
  }

  /**
   * Runs every consumer's loop and the sampler until `until()` (epoch ms),
   * which may be brought forward while they run but is never later than it
   * was at the start, which also bounds the number of rounds.
   */
  async run(until: () => number): Promise<void> {
    const maxRounds = Math.ceil((until() - Date.now()) / this.#options.cadenceMillis) + 1
    const loops = this.#consumers.map((consumer) => this.#loop(consumer, until, maxRounds))
    await Promise.all([this.#sample(until), ...loops])
  }

  async close(): Promise<void> {
    await Promise.all(this.#consumers.map((consumer) => consumer.client.close().catch(() => undefined)))
  }

  async #loop(consumer: Consumer, until: () => number, maxRounds: number): Promise<void> {
    for (let round = 0; round < maxRounds && Date.now() < until(); round++) {
      for (const provider of PROVIDERS) {
        await this.#call(consumer, provider, "getToken")
        await this.#call(consumer, provider, "fetch")
      }
      await sleep(this.#options.cadenceMillis)
    }
  }

  async #call(consumer: Consumer, provider: string, op: "getToken" | "fetch"): Promise<void> {
    const { client } = consumer
    const start = Date.now()
    const held = client.peek(provider) !== undefined
    const replicasUp = this.#options.replicasUp()
    const base = { type: "op", start, consumer: consumer.name, provider, op, held, replicasUp } as const
    try {
      if (op === "getToken") {
        const token = await client.getToken(provider)
        this.#options.history.add({ ...base, at: Date.now(), ok: true, ...tokenFields(token) })
      } else {
        const response = await client.fetch(provider, this.#options.resourceUrl(provider))
        await response.arrayBuffer()
        this.#options.history.add({ ...base, at: Date.now(), ok: response.ok, status: response.status })
      }
    } catch (error) {
      this.#options.history.add({ ...base, at: Date.now(), ok: false, error: describeError(error) })
    }
  }

  /** Records each change of the token each consumer holds, until `until()`. */
  async #sample(until: () => number): Promise<void> {
    const last = new Map<string, string>()
    const maxSamples = Math.ceil((until() - Date.now()) / SAMPLE_EVERY_MILLIS) + 1
    for (let sample = 0; sample < maxSamples && Date.now() < until(); sample++) {
      for (const { name, client } of this.#consumers) {
        for (const provider of PROVIDERS) {
          const token = client.peek(provider)
          const fields = token === undefined ? { version: undefined } : tokenFields(token)
          const key = `${name}/${provider}`
          const seen = `${fields.version}/${"token" in fields ? fields.token : ""}`
          if (last.get(key) === seen) continue
          last.set(key, seen)
          this.#options.history.add({ type: "held", at: Date.now(), consumer: name, provider, ...fields })
        }
      }
      await sleep(SAMPLE_EVERY_MILLIS)
    }
  }
}
