/**
 * Everything the scenarios run against, acquired in one scope and stopped
 * when it closes: a nats-server child process (started as `tokenbus dev` and
 * the integration tests start theirs, @tokenbus/devstack), the bench's own
 * NATS connection, two tokenbus clusters (1 replica with an instant upstream
 * for scenarios 1, 2 and 6; 3 replicas with a slow upstream for 3, 4 and 5)
 * started with the shared harness of @tokenbus/testing at log level Info
 * and from the bundle as in production, and echo responders (1 and 3) answering with a payload as
 * long as a token reply.
 */
import type { NatsConnection as RawConnection } from "@nats-io/transport-node"
import { acquireNatsServer } from "@tokenbus/devstack"
import { type ClusterOptions, getPayload, type ReplicaCluster, startCluster, stopAllReplicas } from "@tokenbus/testing"
import { resolve } from "node:path"
import { Effect } from "effect"
import { acquireRawConnection } from "./acquireRawConnection.ts"
import type { BenchOptions } from "./BenchOptions.ts"
import { type EchoOptions, type EchoResponder, startEchoResponder } from "./EchoResponder.ts"
import { sampleUsage } from "./ProcessUsage.ts"
import { progress } from "./progress.ts"

export interface BenchStack {
  readonly natsUrl: string
  readonly natsServerPid: number
  /** The bench's own connection: requesters, reporters, KV watch; the clusters' wire requests go through it too. */
  readonly nc: RawConnection
  readonly single: ReplicaCluster
  readonly trio: ReplicaCluster
  readonly echoOne: EchoResponder
  readonly echoThree: ReadonlyArray<EchoResponder>
  /** Length of a token reply, and of the echo responders' replies. */
  readonly replyBytes: number
  /** The single replica's resident memory right after it started, before any load. */
  readonly singleRssAtStart: number
}

/**
 * The bench mints on purpose dozens of times a minute, and reports tokens a
 * moment after they were minted: it lifts the provider's rate limit and turns
 * off the circuit breaker that would take a quick second 401 for bad
 * credentials.
 */
const benchProviderSettings = {
  rateLimit: { tokens: 1_000_000, windowMillis: 60_000, burst: 10_000 },
  circuitBreaker: { freshTokenMillis: 0 }
} as const

/** High enough that no scenario is ever rate-limited by the simulated upstream. */
const unlimited = { tokensPerMinute: 1_000_000, burst: 10_000 }

/** SIGTERM on release, so replicas under `--cpu-prof` write their profiles. */
const acquireCluster = (options: ClusterOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startCluster({ ...options, provider: benchProviderSettings })),
    (cluster) => Effect.promise(() => cluster.stop("SIGTERM"))
  )

const acquireEcho = (options: EchoOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startEchoResponder(options)),
    (echo) => Effect.promise(() => echo.stop())
  )

export const acquireBenchStack = (options: BenchOptions) =>
  Effect.gen(function*() {
    // Registered first, so it runs last: no replica outlives the bench.
    yield* Effect.addFinalizer(() => Effect.promise(stopAllReplicas))
    const nats = yield* acquireNatsServer()
    progress(`nats-server at ${nats.url} (pid ${nats.pid})`)
    const nc = yield* acquireRawConnection({ url: nats.url, name: "tokenbus-bench" })

    const profiling = options.profile
      ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${resolve(options.outDir, "profiles")}`] }
      : {}
    // From the bundle, as a deployment runs it; under --profile from the sources, so profiles name functions.
    const replica = { logLevel: "Info", fromBuild: !options.profile, ...profiling }
    progress("starting 1 + 3 replicas and their simulated upstreams")
    const single = yield* acquireCluster({
      name: "single",
      natsUrl: nats.url,
      replicas: 1,
      sim: unlimited,
      replica,
      connection: nc
    })
    const trio = yield* acquireCluster({
      name: "trio",
      natsUrl: nats.url,
      replicas: 3,
      sim: { ...unlimited, latencyMs: options.upstreamLatencyMillis },
      replica,
      connection: nc
    })
    const singleRssAtStart = sampleUsage(single.replicas[0]?.pid ?? -1).rssBytes
    const firstReply = yield* Effect.promise(() => nc.request(single.subjects.get(), getPayload, { timeout: 10_000 }))
    yield* Effect.promise(() => trio.getToken())
    const replyBytes = firstReply.data.length

    progress(`a token reply is ${replyBytes} bytes; starting 1 + 3 echo responders answering as many`)
    const subject = (prefix: string) => `${prefix}.token.*.get`
    const echo = (name: string, prefix: string) =>
      acquireEcho({ natsUrl: nats.url, subject: subject(prefix), queue: "echo", name, replyBytes, ...profiling })
    const echoOne = yield* echo("echo-1", "echo1")
    const echoThree = yield* Effect.all(["echo-3a", "echo-3b", "echo-3c"].map((name) => echo(name, "echo3")))
    return {
      natsUrl: nats.url,
      natsServerPid: nats.pid,
      nc,
      single,
      trio,
      echoOne,
      echoThree,
      replyBytes,
      singleRssAtStart
    } satisfies BenchStack
  })
