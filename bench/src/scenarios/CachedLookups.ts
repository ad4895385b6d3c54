/**
 * Scenario 2: what a cached lookup costs a microservice. A client holding a
 * token answers from memory; this measures, in the bench process's one
 * JavaScript thread (one core), the calls a user makes: `peek` (synchronous),
 * `getToken` through the Promise facade (`TokenbusClient`), and `getToken`
 * of the Effect service run inside an Effect loop, against a plain `Map.get`
 * (the floor for any in-memory cache). A spy subscription on the service's
 * request subjects proves no lookup touched the network. Memory per cached
 * token is the heap growth of a client that asked for many providers' tokens
 * (and so follows their updates), after full collections.
 *
 * Each loop is written out separately: one shared loop calling different
 * closures would become a polymorphic call site and slow down whichever ran
 * last.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { TokenbusClient, TokenClient } from "@tokenbus/client"
import { PROVIDER, randomPrefix, type ReplicaCluster } from "@tokenbus/testing"
import { Effect, ManagedRuntime } from "effect"
import type { BenchOptions } from "../BenchOptions.ts"
import { forceGc } from "../forceGc.ts"
import { progress } from "../progress.ts"
import { row, type Row } from "../Row.ts"
import { median } from "../Stats.ts"

export interface CachedLookupsSetup {
  readonly nc: NatsConnection
  readonly natsUrl: string
  readonly cluster: ReplicaCluster
  readonly options: BenchOptions
}

export interface CachedLookupsResult {
  readonly rows: ReadonlyArray<Row>
  /** Lookups per second in each round, by call. */
  readonly rounds: Readonly<Record<string, ReadonlyArray<number>>>
  readonly requestsSeenDuringLookups: number
  readonly cachedProviders: number
  readonly heapBytesPerToken: number
}

const CHECK_EVERY = 4096

// The sink keeps V8 from dropping lookups whose result nobody reads.
let sink = 0

const mapGetRate = (map: Map<string, { readonly version: number }>, key: string, millis: number): number => {
  const started = performance.now()
  let done = 0
  let now = started
  while (now - started < millis) {
    for (let i = 0; i < CHECK_EVERY; i++) sink += map.get(key)?.version ?? 0
    done += CHECK_EVERY
    now = performance.now()
  }
  return (done / (now - started)) * 1000
}

const peekRate = (client: TokenbusClient, key: string, millis: number): number => {
  const started = performance.now()
  let done = 0
  let now = started
  while (now - started < millis) {
    for (let i = 0; i < CHECK_EVERY; i++) sink += client.peek(key)?.version ?? 0
    done += CHECK_EVERY
    now = performance.now()
  }
  return (done / (now - started)) * 1000
}

const promiseGetTokenRate = async (client: TokenbusClient, key: string, millis: number): Promise<number> => {
  const started = performance.now()
  let done = 0
  let now = started
  while (now - started < millis) {
    for (let i = 0; i < 256; i++) sink += (await client.getToken(key)).version
    done += 256
    now = performance.now()
  }
  return (done / (now - started)) * 1000
}

const effectGetTokenRate = (tokens: TokenClient["Service"], key: string, millis: number) =>
  Effect.gen(function*() {
    const started = performance.now()
    let done = 0
    let now = started
    while (now - started < millis) {
      for (let i = 0; i < 256; i++) sink += (yield* tokens.getToken(key)).version
      done += 256
      now = performance.now()
    }
    return (done / (now - started)) * 1000
  })

/** A token as the leader hands it out (PROTOCOL.md), for a provider of our own. */
const tokenOf = (provider: string, index: number) => ({
  provider,
  version: index + 1,
  accessToken: `p44_${(index * 2654435761).toString(16).padStart(32, "0").slice(-32)}`,
  tokenType: "BEARER",
  issuedAt: Date.now(),
  expiresAt: Date.now() + 43_200_000,
  reason: "initial"
})

/**
 * A client follows the updates only of the providers it asked for, so the
 * memory measured is that of a client that asked for each of `count`
 * providers once: its cached token and its subscription to the provider's
 * updates. A responder of the bench's own answers the gets.
 */
const heapPerToken = async (setup: CachedLookupsSetup): Promise<number> => {
  const prefix = randomPrefix()
  const count = setup.options.cachedProviders
  const responder = setup.nc.subscribe(`${prefix}.token.*.get`, {
    callback: (_error, message) => {
      const provider = message.subject.split(".")[2] ?? ""
      message.respond(JSON.stringify({ v: 1, ok: true, token: tokenOf(provider, Number(provider.split("-")[1])) }))
    }
  })
  const runtime = ManagedRuntime.make(TokenClient.layerConnect({ servers: [setup.natsUrl], prefix, name: "bench-memory" }))
  try {
    const tokens = await runtime.runPromise(TokenClient)
    await setup.nc.flush()
    forceGc()
    const before = process.memoryUsage().heapUsed
    for (let from = 0; from < count; from += 200) {
      const batch = Array.from({ length: Math.min(200, count - from) }, (_, offset) => `provider-${from + offset}`)
      await runtime.runPromise(Effect.forEach(batch, (provider) => tokens.getToken(provider), { concurrency: "unbounded" }))
    }
    const held = Array.from({ length: count }, (_, index) => tokens.peek(`provider-${index}`)).filter((t) => t).length
    if (held !== count) throw new Error(`the client holds ${held} of ${count} tokens`)
    forceGc()
    return (process.memoryUsage().heapUsed - before) / count
  } finally {
    responder.unsubscribe()
    await runtime.dispose()
  }
}

export const runCachedLookups = async (setup: CachedLookupsSetup): Promise<CachedLookupsResult> => {
  const { options, cluster, nc } = setup
  const servers = [setup.natsUrl]
  const client = await TokenbusClient.connect({ servers, prefix: cluster.prefix, name: "bench-lookups" })
  const runtime = ManagedRuntime.make(TokenClient.layerConnect({ servers, prefix: cluster.prefix, name: "bench-lookups-effect" }))
  let requestsSeen = 0
  const spy = nc.subscribe(`${cluster.prefix}.token.*.*`, {
    callback: (_error, message) => {
      if (!message.subject.endsWith(".updates")) requestsSeen++
    }
  })
  try {
    const tokens = await runtime.runPromise(TokenClient)
    const held = await client.getToken(PROVIDER)
    await runtime.runPromise(tokens.getToken(PROVIDER))
    await nc.flush()
    requestsSeen = 0
    const map = new Map([[PROVIDER, held]])
    const rounds: Record<string, Array<number>> = { "Map.get": [], peek: [], "getToken (Promise)": [], "getToken (Effect)": [] }
    const millis = options.lookupRoundMillis
    for (let round = 0; round <= options.rounds; round++) {
      // Round 0 is the warm-up (JIT), not counted.
      const measured = {
        "Map.get": mapGetRate(map, PROVIDER, millis),
        peek: peekRate(client, PROVIDER, millis),
        "getToken (Promise)": await promiseGetTokenRate(client, PROVIDER, millis),
        "getToken (Effect)": await runtime.runPromise(effectGetTokenRate(tokens, PROVIDER, millis))
      }
      if (round === 0) continue
      for (const [name, rate] of Object.entries(measured)) rounds[name]?.push(rate)
      progress(`  round ${round}/${options.rounds}: ${Object.entries(measured).map(([n, r]) => `${n} ${Math.round(r).toLocaleString("en-US")}/s`).join(", ")}`)
    }
    await nc.flush()
    const requestsSeenDuringLookups = requestsSeen
    progress(`  memory: caching ${options.cachedProviders.toLocaleString("en-US")} providers' tokens in one client`)
    const heapBytesPerToken = await heapPerToken(setup)
    const baseline = median(rounds["Map.get"] ?? [])
    const scenario = "2 cached lookup, 1 core"
    const lookupRow = (name: string, metric: string) => {
      const rate = median(rounds[name] ?? [])
      return row({
        scenario,
        metric,
        median: rate,
        baseline,
        baselineLabel: "Map.get",
        ratio: rate / baseline,
        target: "≥ 1,000,000/s",
        met: rate >= 1_000_000 && requestsSeenDuringLookups === 0
      })
    }
    return {
      rounds,
      requestsSeenDuringLookups,
      cachedProviders: options.cachedProviders,
      heapBytesPerToken,
      rows: [
        lookupRow("peek", "peek() lookups/s"),
        lookupRow("getToken (Effect)", "getToken() in an Effect loop, lookups/s"),
        lookupRow("getToken (Promise)", "await getToken() (Promise facade), lookups/s"),
        row({
          scenario,
          metric: "requests sent during the lookups",
          median: requestsSeenDuringLookups,
          target: "0 (no round trip)",
          met: requestsSeenDuringLookups === 0
        }),
        row({
          scenario,
          metric: `heap per cached token (bytes, ${options.cachedProviders.toLocaleString("en-US")} providers)`,
          median: heapBytesPerToken,
          note: "a client that asked for each provider once: its cached token and its subscription to the provider's updates"
        })
      ]
    }
  } finally {
    spy.unsubscribe()
    await client.close()
    await runtime.dispose()
    if (sink === -1) progress("unreachable")
  }
}
