// What a leader counts, on the real SingleFlight and MintCycle over an
// in-memory KV under TestClock: a storm of 401 reports of one version is one
// mint (by reason and outcome) and one upstream call, every other report is
// counted as having joined it, and a report of a version already replaced is
// counted as served the current token.
import { assert, describe, it } from "@effect/vitest"
import { TokenCache } from "@tokenbus/core"
import { makeMemoryKvStore } from "@tokenbus/nats/testing"
import { metricTotal, metricValue } from "@tokenbus/testing"
import { Clock, Effect, Fiber, Layer, Redacted, Scope } from "effect"
import { FetchHttpClient } from "effect/http"
import { makeFencedState } from "../../src/leadership/FencedState.ts"
import { MintCycle } from "../../src/minting/MintCycle.ts"
import { makeSingleFlight } from "../../src/minting/SingleFlight.ts"
import { makeReplicaMetrics, ReplicaMetrics } from "../../src/observe/ReplicaMetrics.ts"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { advance, makeUpstream, PROVIDER, providerFor } from "../support/MemoryCluster.ts"
import { testStorage } from "../support/StorageKeys.ts"

const provider = { provider: PROVIDER }

const leader = Effect.gen(function*() {
  const store = TokenStore.make(yield* (yield* makeMemoryKvStore("tokens")).view, { storage: testStorage })
  const upstream = yield* makeUpstream
  const configured = providerFor(upstream)
  yield* advance(60_000)
  const token = { accessToken: Redacted.make("token-0"), tokenType: "Bearer", issuedAt: 0, reason: "initial" as const }
  const initial = yield* store.write(PROVIDER, { token }, undefined)
  const state = yield* makeFencedState({
    provider: PROVIDER,
    store,
    fence: { holder: "replica-1", term: 1 },
    guard: Effect.void,
    initial
  })
  const cycle = yield* (yield* MintCycle).make({
    configured,
    state,
    guard: Effect.void,
    cache: new TokenCache(),
    broadcast: () => Effect.void
  })
  const serve = yield* makeSingleFlight({ configured, state, cycle, scope: yield* Scope.make() })
  return { serve, upstream, version: initial.token!.version }
}).pipe(Effect.provide(MintCycle.layer.pipe(Layer.provide(FetchHttpClient.layer))))

describe("a leader's metrics", () => {
  it.effect("a 401 storm is one mint and one upstream call; the other reports joined it; a stale one is served", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const metrics = makeReplicaMetrics(() => clock.currentTimeMillisUnsafe())
      const { serve, upstream, version } = yield* leader.pipe(Effect.provideService(ReplicaMetrics, metrics))
      const release = yield* upstream.hold
      const reports = yield* Effect.forEach(
        [1, 2, 3, 4, 5],
        () => Effect.forkChild(serve({ _tag: "Unauthorized", version }, "unauthorized-report"))
      )
      yield* advance(200, 10)
      yield* release
      yield* advance(200, 10)
      const answers = yield* Effect.forEach(reports, Fiber.join)
      assert.strictEqual(yield* upstream.calls, 1)
      const stale = yield* Effect.forkChild(serve({ _tag: "Unauthorized", version }, "unauthorized-report"))
      yield* advance(100, 10)
      assert.strictEqual((yield* Fiber.join(stale)).token.version, answers[0]!.token.version)

      const page = yield* Effect.promise(() => metrics.registry.metrics())
      const minted = { ...provider, reason: "unauthorized-report", outcome: "committed" }
      assert.strictEqual(metricValue(page, "tokenbus_mints_total", minted), 1)
      assert.strictEqual(metricTotal(page, "tokenbus_mints_total"), 1)
      assert.strictEqual(metricValue(page, "tokenbus_upstream_call_seconds_count", { ...provider, outcome: "ok" }), 1)
      const deduplicated = (how: string) =>
        metricValue(page, "tokenbus_unauthorized_deduplicated_total", { ...provider, how })
      assert.strictEqual(deduplicated("joined-mint"), 4)
      assert.strictEqual(deduplicated("served-current"), 1)
      // Spent: the budget's window now holds the one call.
      assert.strictEqual(metricValue(page, "tokenbus_budget_remaining", provider), 4)
    }))
})
