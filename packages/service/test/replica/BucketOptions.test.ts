// What a replica asks of its two KV buckets when it opens them: the leases
// bucket with the lease TTL, the tokens bucket with 64 revisions of history,
// both with `nats.replicas` from the configuration (absent: the server's
// default, see @tokenbus/nats), and each setting named by its field so that a
// refusal tells the operator what to change. The real layers open the
// buckets here, on the in-memory NATS, which records what they asked for.
import { assert, describe, it } from "@effect/vitest"
import { makeMemoryNats } from "@tokenbus/nats/testing"
import { Effect, Layer } from "effect"
import type { ServiceConfig } from "../../src/config/ServiceConfig.ts"
import { LeaderLock } from "../../src/leadership/LeaderLock.ts"
import { ReplicaContext } from "../../src/replica/ReplicaContext.ts"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { testStorage } from "../support/StorageKeys.ts"

const lease = { ttlMillis: 4500, renewEveryMillis: 1000, safetyMarginMillis: 500 }

const config = (nats: ServiceConfig["nats"]): ServiceConfig => ({
  nats,
  prefix: "tb",
  lease,
  requestTimeoutMillis: 2_000,
  storage: testStorage,
  providers: []
})

/** Builds the lock and the store for `serviceConfig`; what each bucket was opened with. */
const openedWith = (serviceConfig: ServiceConfig) =>
  Effect.gen(function*() {
    const nats = yield* makeMemoryNats
    const layers = Layer.mergeAll(TokenStore.layer, LeaderLock.layer).pipe(
      Layer.provide(ReplicaContext.layer(serviceConfig, "r1")),
      Layer.provide(nats.layer("r1"))
    )
    yield* Layer.build(layers)
    return { leases: yield* nats.bucketOptions("tb-leases"), tokens: yield* nats.bucketOptions("tb-tokens") }
  })

describe("the buckets a replica opens", () => {
  it.effect("carry the lease TTL, the history and the configured replica count, each with its field", () =>
    Effect.gen(function*() {
      const { leases, tokens } = yield* openedWith(config({ servers: ["memory"], replicas: 5 }))
      assert.deepStrictEqual(leases, [{
        ttlMillis: 4500,
        replicas: 5,
        settingNames: { ttlMillis: "lease.ttlMillis", replicas: "nats.replicas" }
      }])
      assert.deepStrictEqual(tokens, [{ history: 64, replicas: 5, settingNames: { replicas: "nats.replicas" } }])
    }).pipe(Effect.scoped))

  it.effect("leave the replica count to the server's default when the configuration has none", () =>
    Effect.gen(function*() {
      const { leases, tokens } = yield* openedWith(config({ servers: ["memory"] }))
      assert.strictEqual(leases[0]?.replicas, undefined)
      assert.strictEqual(tokens[0]?.replicas, undefined)
    }).pipe(Effect.scoped))
})
