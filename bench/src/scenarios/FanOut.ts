/**
 * Scenario 4: fan-out. Many clients subscribe to a provider's updates; one
 * 401 report makes the leader mint, commit and broadcast, and every client
 * must hold the new version soon after the commit. The clients are real
 * `TokenClient`s (the layer `TokenbusClient.connect` builds), each on its own
 * NATS connection, all in the bench process: one JavaScript thread decodes
 * every copy of the update one after the other, which is the worst case (in
 * a fleet each client decodes in its own process).
 *
 * A client's arrival is stamped by a probe wrapped around its connection's
 * `subscribe`, right after the client's own handler has offered the update
 * to its cache: no extra subscription, no polling.
 */
import { TokenClient } from "@tokenbus/client"
import { NatsConnection } from "@tokenbus/nats"
import { expectToken, PROVIDER, type ReplicaCluster, waitUntil } from "@tokenbus/testing"
import { Effect, Layer, ManagedRuntime } from "effect"
import type { BenchOptions } from "../BenchOptions.ts"
import type { KvCommits } from "../KvCommits.ts"
import { progress } from "../progress.ts"
import { row, type Row } from "../Row.ts"
import { median, percentile, summarize, type Summary } from "../Stats.ts"

export interface FanOutSetup {
  readonly natsUrl: string
  readonly cluster: ReplicaCluster
  readonly commits: KvCommits
  readonly options: BenchOptions
}

export interface FanOutCommit {
  readonly version: number
  readonly commitToClient: Summary
}

export interface FanOutResult {
  readonly rows: ReadonlyArray<Row>
  readonly clients: number
  readonly connections: number
  readonly commits: ReadonlyArray<FanOutCommit>
}

interface Probe {
  /** Any version above this counts as the new one. */
  above: number
  readonly arrivals: Float64Array
}

/** A NatsConnection whose subscription handlers call `after` once the client's own handler has run. */
const probedConnection = (natsUrl: string, name: string, after: () => void) =>
  Layer.effect(
    NatsConnection,
    Effect.gen(function*() {
      const real = yield* NatsConnection
      return NatsConnection.of({
        ...real,
        subscribe: (subject, options, onMessage) =>
          real.subscribe(subject, options, (message) => {
            onMessage(message)
            after()
          })
      })
    })
  ).pipe(Layer.provide(NatsConnection.layer({ servers: [natsUrl], name })))

interface Client {
  readonly runtime: ManagedRuntime.ManagedRuntime<TokenClient, unknown>
  readonly tokens: TokenClient["Service"]
}

const connectClient = async (setup: FanOutSetup, probe: Probe, index: number): Promise<Client> => {
  let tokens: TokenClient["Service"] | undefined
  const stamp = () => {
    if (tokens !== undefined && Number.isNaN(probe.arrivals[index]) && (tokens.peek(PROVIDER)?.version ?? 0) > probe.above) {
      probe.arrivals[index] = performance.now()
    }
  }
  const layer = TokenClient.layer({ prefix: setup.cluster.prefix }).pipe(
    Layer.provide(probedConnection(setup.natsUrl, `bench-fanout-${index}`, stamp))
  )
  const runtime = ManagedRuntime.make(layer)
  tokens = await runtime.runPromise(TokenClient)
  await runtime.runPromise(tokens.getToken(PROVIDER))
  return { runtime, tokens }
}

const connectClients = async (setup: FanOutSetup, probe: Probe): Promise<Array<Client>> => {
  const clients: Array<Client> = []
  // In batches, so that 200 handshakes do not queue behind each other's timeouts.
  for (let start = 0; start < setup.options.fanOutClients; start += 20) {
    const batch = Array.from({ length: Math.min(20, setup.options.fanOutClients - start) }, (_, i) => start + i)
    clients.push(...await Promise.all(batch.map((index) => connectClient(setup, probe, index))))
  }
  return clients
}

const oneCommit = async (setup: FanOutSetup, clients: ReadonlyArray<Client>, probe: Probe): Promise<FanOutCommit> => {
  const { cluster, commits } = setup
  const current = (await cluster.getToken()).version
  await waitUntil(
    () => clients.every((client) => (client.tokens.peek(PROVIDER)?.version ?? 0) >= current),
    5000,
    `not every client holds version ${current}`,
    5
  )
  probe.above = current
  probe.arrivals.fill(Number.NaN)
  const committed = commits.after(current)
  const version = expectToken(await cluster.reportUnauthorized(current)).version
  const commit = await committed
  await waitUntil(() => !probe.arrivals.some(Number.isNaN), 10_000, `not every client received version ${version}`, 5)
  const commitAt = commits.all().find((c) => c.version === version)?.at ?? commit.at
  return { version, commitToClient: summarize(Array.from(probe.arrivals, (at) => at - commitAt)) }
}

export const runFanOut = async (setup: FanOutSetup): Promise<FanOutResult> => {
  const { options } = setup
  const probe: Probe = { above: Number.MAX_SAFE_INTEGER, arrivals: new Float64Array(options.fanOutClients).fill(Number.NaN) }
  progress(`  connecting ${options.fanOutClients} clients, one NATS connection each`)
  const clients = await connectClients(setup, probe)
  try {
    const results: Array<FanOutCommit> = []
    for (let index = 0; index < options.fanOutCommits; index++) {
      const result = await oneCommit(setup, clients, probe)
      results.push(result)
      progress(
        `  commit ${index + 1}/${options.fanOutCommits} (v${result.version}): commit → client p50 ` +
          `${result.commitToClient.median.toFixed(2)} / p99 ${result.commitToClient.p99.toFixed(2)} / last ` +
          `${result.commitToClient.max.toFixed(2)} ms`
      )
    }
    const p99 = median(results.map((r) => r.commitToClient.p99))
    const scenario = `4 fan-out, ${options.fanOutClients} clients`
    return {
      clients: options.fanOutClients,
      connections: options.fanOutClients,
      commits: results,
      rows: [
        row({
          scenario,
          metric: "commit → client holds new version (ms)",
          median: median(results.map((r) => r.commitToClient.median)),
          p99,
          target: "p99 < 20 ms",
          met: p99 < 20,
          note: `${options.fanOutClients} TokenClients on ${options.fanOutClients} NATS connections, all in the bench ` +
            `process; median over ${results.length} commits of each commit's median and p99`
        }),
        row({
          scenario,
          metric: "commit → all clients hold it (ms)",
          median: median(results.map((r) => r.commitToClient.max)),
          p99: percentile(results.map((r) => r.commitToClient.max), 99)
        })
      ]
    }
  } finally {
    await Promise.all(clients.map((client) => client.runtime.dispose()))
  }
}
