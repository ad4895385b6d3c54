// The single flight against the real FencedState (on an in-memory KV) and the
// real MintCycle. The runtime may switch fibers anywhere; `slowSnapshot` makes
// it switch inside a decision, so a second request decides while the first
// has just registered its mint: the interleaving a busy leader sees.
import { assert, describe, it } from "@effect/vitest"
import { TokenCache } from "@tokenbus/core"
import { makeMemoryKvStore } from "@tokenbus/nats/testing"
import { Effect, Exit, Fiber, Layer, Redacted, Scope } from "effect"
import { FetchHttpClient } from "effect/http"
import { makeFencedState, type FencedState } from "../../src/leadership/FencedState.ts"
import { MintCycle } from "../../src/minting/MintCycle.ts"
import { makeSingleFlight } from "../../src/minting/SingleFlight.ts"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { testStorage } from "../support/StorageKeys.ts"
import { advance, makeUpstream, PROVIDER, providerFor } from "../support/MemoryCluster.ts"

const slowSnapshot = (state: FencedState): FencedState => ({
  ...state,
  snapshot: Effect.sleep(10).pipe(Effect.andThen(state.snapshot))
})

/** A leader whose held token was minted because of a 401, `ageMillis` ago. */
const leaderHolding = (ageMillis: number) =>
  Effect.gen(function*() {
    const store = TokenStore.make(yield* (yield* makeMemoryKvStore("tokens")).view, { storage: testStorage })
    const upstream = yield* makeUpstream
    const configured = providerFor(upstream)
    yield* advance(ageMillis)
    const issuedAt = 0
    const token = { accessToken: Redacted.make("token-0"), tokenType: "Bearer", issuedAt, reason: "unauthorized-report" as const }
    const initial = yield* store.write(PROVIDER, { token }, undefined)
    const fence = { holder: "replica-1", term: 1 }
    const state = yield* makeFencedState({ provider: PROVIDER, store, fence, guard: Effect.void, initial })
    const cycle = yield* (yield* MintCycle).make({
      configured,
      state,
      guard: Effect.void,
      cache: new TokenCache(),
      broadcast: () => Effect.void
    })
    const scope = yield* Scope.make()
    const serve = yield* makeSingleFlight({ configured, state: slowSnapshot(state), cycle, scope })
    return { serve, upstream, version: initial.token!.version, state, scope }
  }).pipe(Effect.provide(MintCycle.layer.pipe(Layer.provide(FetchHttpClient.layer))))

describe("SingleFlight", () => {
  it.effect("every report that joined a mint refused at once gets the breaker's answer", () =>
    Effect.gen(function*() {
      const { serve, upstream, version } = yield* leaderHolding(1_000)
      const reports = yield* Effect.forEach(
        [1, 2, 3],
        () => Effect.forkChild(serve({ _tag: "Unauthorized", version }, "unauthorized-report"))
      )
      yield* advance(500, 10)
      for (const report of reports) assert.isDefined(report.pollUnsafe(), "a report was left waiting")
      for (const report of reports) {
        const exit = yield* Fiber.await(report)
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) assert.include(String(exit.cause), "CredentialsRejected")
      }
      assert.strictEqual(yield* upstream.calls, 0)
    }))

  it.effect("reports of one version share one mint; a report of an older version is served the held token", () =>
    Effect.gen(function*() {
      const { serve, upstream, version } = yield* leaderHolding(60_000)
      const release = yield* upstream.hold
      const reports = yield* Effect.forEach(
        [1, 2, 3, 4],
        () => Effect.forkChild(serve({ _tag: "Unauthorized", version }, "unauthorized-report"))
      )
      yield* advance(200, 10)
      yield* release
      yield* advance(200, 10)
      const answers = yield* Effect.forEach(reports, Fiber.join)
      assert.deepStrictEqual(new Set(answers.map((answer) => answer.token.version)).size, 1)
      assert.isAbove(answers[0]!.token.version, version)
      assert.strictEqual(yield* upstream.calls, 1)
      const late = yield* Effect.forkChild(serve({ _tag: "Unauthorized", version }, "unauthorized-report"))
      yield* advance(100, 10)
      const stale = yield* Fiber.join(late)
      assert.strictEqual(stale.token.version, answers[0]!.token.version)
      assert.strictEqual(yield* upstream.calls, 1)
    }))
})
