/**
 * Everything the scenarios run against, acquired in one scope and stopped
 * when it closes: a nats-server child process, the bench's own NATS
 * connection, two tokenbus clusters (1 replica with an instant upstream for
 * scenarios 1, 2 and 6; 3 replicas with a slow upstream for 3, 4 and 5),
 * and echo responders (1 and 3) answering with a payload as long as a token
 * reply.
 */
import type { NatsConnection as RawConnection } from "@nats-io/transport-node"
import { NatsConnection } from "@tokenbus/nats"
import { acquireNatsServer } from "@tokenbus/service"
import { freePorts, PROVIDER, stopAllReplicas } from "@tokenbus/testing"
import { resolve } from "node:path"
import { Context, Effect, Layer } from "effect"
import { type BenchCluster, type BenchClusterOptions, startBenchCluster } from "./BenchCluster.ts"
import type { BenchOptions } from "./BenchOptions.ts"
import { type EchoOptions, type EchoResponder, startEchoResponder } from "./EchoResponder.ts"
import { childPidsNamed, sampleUsage } from "./ProcessUsage.ts"
import { progress } from "./progress.ts"
import { getPayload } from "./WireReply.ts"

export interface BenchStack {
  readonly natsUrl: string
  readonly natsServerPid: number | undefined
  /** The bench's own connection: requesters, reporters, KV watch. */
  readonly nc: RawConnection
  readonly single: BenchCluster
  readonly trio: BenchCluster
  readonly echoOne: EchoResponder
  readonly echoThree: ReadonlyArray<EchoResponder>
  /** Length of a token reply, and of the echo responders' replies. */
  readonly replyBytes: number
  /** The single replica's resident memory right after it started, before any load. */
  readonly singleRssAtStart: number
}

/** High enough that no scenario is ever rate-limited by the simulated upstream. */
const unlimited = { tokensPerMinute: 1_000_000, burst: 10_000 }

/** A raw nats.js connection made by tokenbus's own NatsConnection, so it has exactly the options tokenbus uses. */
const acquireConnection = (url: string, name: string) =>
  Layer.build(NatsConnection.layer({ servers: [url], name })).pipe(
    Effect.map((context) => Context.get(context, NatsConnection).raw)
  )

const acquireCluster = (options: BenchClusterOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startBenchCluster(options)),
    (cluster) => Effect.promise(() => cluster.stop())
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
    const [port] = yield* Effect.promise(() => freePorts(1))
    const nats = yield* acquireNatsServer(port as number)
    const natsServerPid = childPidsNamed("nats-server")[0]
    progress(`nats-server at ${nats.url} (pid ${natsServerPid ?? "?"})`)
    const nc = yield* acquireConnection(nats.url, "tokenbus-bench")

    const profiling = options.profile
      ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${resolve(options.outDir, "profiles")}`] }
      : {}
    progress("starting 1 + 3 replicas and their simulated upstreams")
    const single = yield* acquireCluster({ name: "single", natsUrl: nats.url, replicas: 1, sim: unlimited, ...profiling })
    const trio = yield* acquireCluster({
      name: "trio",
      natsUrl: nats.url,
      replicas: 3,
      sim: { ...unlimited, latencyMs: options.upstreamLatencyMillis },
      ...profiling
    })
    const singleRssAtStart = sampleUsage(single.replicas[0]?.pid ?? -1).rssBytes
    const firstReply = yield* Effect.promise(() => nc.request(single.subjects.get(PROVIDER), getPayload, { timeout: 10_000 }))
    yield* Effect.promise(() => trio.currentVersion(nc))
    const replyBytes = firstReply.data.length

    progress(`a token reply is ${replyBytes} bytes; starting 1 + 3 echo responders answering as many`)
    const echo = (name: string, prefix: string) =>
      acquireEcho({ natsUrl: nats.url, subject: `${prefix}.token.*.get`, queue: "echo", replyBytes, name, ...profiling })
    const echoOne = yield* echo("echo-1", "echo1")
    const echoThree = yield* Effect.all([echo("echo-3a", "echo3"), echo("echo-3b", "echo3"), echo("echo-3c", "echo3")])
    return { natsUrl: nats.url, natsServerPid, nc, single, trio, echoOne, echoThree, replyBytes, singleRssAtStart } satisfies BenchStack
  })
