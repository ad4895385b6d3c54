// The registry one replica is scraped from: what the request path counts in
// plain numbers shows as series only on scrape, the leader gauge the
// leadership code drives, and the budget left read at scrape time on the
// replica's clock (TestClock here).
import { assert, describe, it } from "@effect/vitest"
import { metricTotal, metricValue } from "@tokenbus/testing"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { makeReplicaMetrics } from "../../src/observe/ReplicaMetrics.ts"

const limit = { tokens: 5, windowMillis: 60_000 }

describe("ReplicaMetrics", () => {
  it.effect("counts served tokens by provider and source, and cache hits and misses", () =>
    Effect.gen(function*() {
      const metrics = makeReplicaMetrics()
      for (let i = 0; i < 3; i++) metrics.served("p1", "cache")
      metrics.served("p1", "kv")
      metrics.missed("p1")
      metrics.served("p2", "leader")
      const page = yield* Effect.promise(() => metrics.registry.metrics())
      assert.strictEqual(metricValue(page, "tokenbus_tokens_served_total", { provider: "p1", source: "cache" }), 3)
      assert.strictEqual(metricValue(page, "tokenbus_tokens_served_total", { provider: "p1", source: "kv" }), 1)
      assert.strictEqual(metricValue(page, "tokenbus_tokens_served_total", { provider: "p2", source: "leader" }), 1)
      assert.strictEqual(metricValue(page, "tokenbus_cache_hits_total", { provider: "p1" }), 3)
      assert.strictEqual(metricValue(page, "tokenbus_cache_misses_total", { provider: "p1" }), 1)
      // A second scrape shows the totals again, not the counts since the first.
      metrics.served("p1", "cache")
      const again = yield* Effect.promise(() => metrics.registry.metrics())
      assert.strictEqual(metricValue(again, "tokenbus_cache_hits_total", { provider: "p1" }), 4)
    }))

  it.effect("leading shows 1 and the term for the providers led; notLeading removes their leader-only series", () =>
    Effect.gen(function*() {
      const metrics = makeReplicaMetrics()
      metrics.leading("p1", 7)
      metrics.leading("p2", 9)
      metrics.budget("p1", limit, undefined)
      metrics.breaker("p1", true)
      const led = yield* Effect.promise(() => metrics.registry.metrics())
      assert.strictEqual(metricValue(led, "tokenbus_leader", { provider: "p1" }), 1)
      assert.strictEqual(metricValue(led, "tokenbus_leader_term", { provider: "p2" }), 9)
      assert.strictEqual(metricValue(led, "tokenbus_budget_remaining", { provider: "p1" }), 5)
      assert.strictEqual(metricValue(led, "tokenbus_breaker_open", { provider: "p1" }), 1)
      assert.strictEqual(metrics.termOf("p1"), 7)

      metrics.notLeading("p1")
      const after = yield* Effect.promise(() => metrics.registry.metrics())
      for (const name of ["tokenbus_leader", "tokenbus_leader_term", "tokenbus_budget_remaining", "tokenbus_breaker_open"]) {
        assert.isUndefined(metricValue(after, name, { provider: "p1" }), name)
      }
      assert.strictEqual(metricTotal(after, "tokenbus_leader"), 1)
      assert.isUndefined(metrics.termOf("p1"))
    }))

  it.effect("the budget left is read at scrape time: calls leave the window as the clock moves, a 429 closes it", () =>
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const metrics = makeReplicaMetrics(() => clock.currentTimeMillisUnsafe())
      yield* TestClock.setTime(10_000)
      metrics.budget("p1", limit, { calls: [1_000, 9_000], at: 9_000 })
      const left = () =>
        Effect.promise(() => metrics.registry.metrics()).pipe(
          Effect.map((page) => metricValue(page, "tokenbus_budget_remaining", { provider: "p1" }))
        )
      assert.strictEqual(yield* left(), 3)
      yield* TestClock.setTime(61_500)
      assert.strictEqual(yield* left(), 4)
      yield* TestClock.setTime(69_500)
      assert.strictEqual(yield* left(), 5)
      metrics.budget("p1", limit, { calls: [], at: 69_500, blockedUntil: 80_000 })
      assert.strictEqual(yield* left(), 0)
      yield* TestClock.setTime(80_001)
      assert.strictEqual(yield* left(), 5)
    }))
})
