// The probes of one replica process over real HTTP on 127.0.0.1, with the
// real Health of a replica's parts on the in-memory NATS: 503 while the
// replica is not built yet, readiness that waits for a token (in memory or
// in KV), liveness that follows the NATS connection, 503 again once the
// replica stops; and `/metrics` serving the registry the replica counts in.
import { assert, describe, it } from "@effect/vitest"
import { makeMemoryNats } from "@tokenbus/nats/testing"
import { metricValue } from "@tokenbus/testing"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { Health } from "../../src/observe/Health.ts"
import { metricsLayer, Probes } from "../../src/observe/Probes.ts"
import { ReplicaMetrics } from "../../src/observe/ReplicaMetrics.ts"
import { ReplicaContext } from "../../src/replica/ReplicaContext.ts"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { capturingLayer, type LogLine } from "../support/CapturedLogs.ts"
import { configFor, makeUpstream, PROVIDER, providerFor } from "../support/MemoryCluster.ts"

const get = (port: number, path: string) =>
  Effect.promise(async () => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: response.status, body: await response.text() }
  })

const portOf = (lines: ReadonlyArray<LogLine>): number => {
  const port = lines.find((line) => line.message === "http listening")?.annotations["port"]
  if (typeof port !== "number") throw new Error("no \"http listening\" line with a port")
  return port
}

describe("Probes on a replica's HTTP port", () => {
  it.live("answer 503 before and after the replica, and what its Health says in between", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const probesContext = yield* Layer.build(
        Probes.layer({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(capturingLayer(lines)))
      )
      const probes = Context.get(probesContext, Probes)
      const port = portOf(lines)
      const starting = yield* get(port, "/healthz")
      assert.strictEqual(starting.status, 503)
      assert.deepStrictEqual(JSON.parse(starting.body), {
        status: "unavailable",
        reason: "the replica is starting: connecting to NATS"
      })

      const nats = yield* makeMemoryNats
      const connection = yield* nats.connection("replica-1")
      const config = configFor(providerFor(yield* makeUpstream))
      const parts = yield* Layer.build(
        Health.layer.pipe(
          Layer.provideMerge(TokenStore.layer),
          Layer.provideMerge(ReplicaContext.layer(config, "replica-1")),
          Layer.provideMerge(metricsLayer),
          Layer.provide([connection.layer, Layer.succeed(Probes, probes)])
        )
      )
      const replica = yield* Scope.make()
      yield* probes.attach(Context.get(parts, Health)).pipe(Scope.provide(replica))

      assert.strictEqual((yield* get(port, "/healthz")).status, 200)
      const empty = yield* get(port, "/readyz")
      assert.strictEqual(empty.status, 503)
      assert.deepStrictEqual(JSON.parse(empty.body), { status: "unavailable", reason: `no token for ${PROVIDER} yet` })

      // A token the leader committed to KV: the replica can serve it, so it is ready, and now holds it.
      const token = { accessToken: Redacted.make("token-1"), tokenType: "Bearer", issuedAt: Date.now(), reason: "initial" as const }
      yield* Context.get(parts, TokenStore).write(PROVIDER, { token }, undefined)
      const ready = yield* get(port, "/readyz")
      assert.strictEqual(ready.status, 200, ready.body)
      assert.isDefined(Context.get(parts, ReplicaContext).cache.get(PROVIDER))

      // The replica counts into the registry the port serves.
      assert.strictEqual(Context.get(parts, ReplicaMetrics), probes.metrics)
      probes.metrics.served(PROVIDER, "cache")
      const page = yield* get(port, "/metrics")
      assert.strictEqual(metricValue(page.body, "tokenbus_cache_hits_total", { provider: PROVIDER }), 1)

      yield* connection.disconnect
      for (const path of ["/healthz", "/readyz"]) {
        const down = yield* get(port, path)
        assert.strictEqual(down.status, 503)
        assert.deepStrictEqual(JSON.parse(down.body), { status: "unavailable", reason: "NATS is not connected" })
      }
      yield* connection.reconnect
      assert.strictEqual((yield* get(port, "/readyz")).status, 200)

      yield* Scope.close(replica, Exit.void)
      const stopping = yield* get(port, "/readyz")
      assert.strictEqual(stopping.status, 503)
      assert.deepStrictEqual(JSON.parse(stopping.body), { status: "unavailable", reason: "the replica is stopping" })
      assert.strictEqual((yield* get(port, "/nowhere")).status, 404)
    }))
})
