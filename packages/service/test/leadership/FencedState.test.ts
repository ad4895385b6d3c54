// The fence, on the real FencedState and TokenStore over an in-memory KV: once
// a newer leader has written its fence, nothing an older one writes lands, and
// it learns it is deposed; a write by someone who is not a leader is retried;
// a tokens bucket deleted and created again under a leader gets back what the
// leader holds, and versions go on growing.
import { assert, describe, it } from "@effect/vitest"
import { makeMemoryKvStore } from "@tokenbus/nats/testing"
import { Effect, Exit, Redacted } from "effect"
import { makeFencedState } from "../../src/leadership/FencedState.ts"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { testStorage } from "../support/StorageKeys.ts"

const provider = "acme"
const token = (name: string) => ({
  accessToken: Redacted.make(name),
  tokenType: "Bearer",
  issuedAt: 0,
  reason: "unauthorized-report" as const
})

const twoLeaders = Effect.gen(function*() {
  const kv = yield* makeMemoryKvStore("tokens")
  const older = TokenStore.make(yield* kv.view, { storage: testStorage })
  const newer = TokenStore.make(yield* kv.view, { storage: testStorage })
  const leader = (store: TokenStore["Service"], term: number) =>
    Effect.flatMap(store.read(provider), (initial) =>
      makeFencedState({ provider, store, fence: { holder: `replica-${term}`, term }, guard: Effect.void, initial }))
  return { older, newer, leader }
})

describe("FencedState", () => {
  it.effect("a deposed leader's commit fails, does not land, and deposes it", () =>
    Effect.gen(function*() {
      const { leader, newer, older } = yield* twoLeaders
      const first = yield* leader(older, 1)
      yield* first.write((s) => s.state)
      // The newer leader is elected while the older one is paused before its commit.
      const second = yield* leader(newer, 2)
      yield* second.write((s) => s.state)
      const late = yield* first.write((s) => ({ ...s.state, token: token("late-token") })).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(late))
      if (Exit.isFailure(late)) assert.include(String(late.cause), "Deposed")
      yield* first.deposed
      const stored = yield* newer.read(provider)
      assert.strictEqual(stored.token, undefined)
      assert.deepStrictEqual(stored.state.fence, { holder: "replica-2", term: 2 })
      // The newer leader is unaffected.
      const committed = yield* second.write((s) => ({ ...s.state, token: token("new-token") }))
      assert.strictEqual(Redacted.value(committed.token!.accessToken), "new-token")
    }))

  it.effect("a leader that first reads a newer leader's fence steps down without writing over it", () =>
    Effect.gen(function*() {
      const { leader, newer, older } = yield* twoLeaders
      const second = yield* leader(newer, 2)
      yield* second.write((s) => s.state)
      const first = yield* leader(older, 1)
      assert.isTrue(Exit.isFailure(yield* first.write((s) => s.state).pipe(Effect.exit)))
      const kept = yield* second.write((s) => ({ ...s.state, token: token("kept") }))
      assert.strictEqual(kept.state.fence?.term, 2)
    }))

  it.effect("a write under this leader's own fence by someone else (an operator) is retried, not a deposition", () =>
    Effect.gen(function*() {
      const { leader, newer, older } = yield* twoLeaders
      const first = yield* leader(older, 1)
      const fenced = yield* first.write((s) => s.state)
      yield* newer.write(provider, fenced.state, fenced.revision)
      const written = yield* first.write((s) => ({ ...s.state, token: token("after-operator") }))
      assert.strictEqual(Redacted.value(written.token!.accessToken), "after-operator")
    }))

  it.effect("a leader whose tokens bucket is deleted and created again puts back what it holds; versions grow on", () =>
    Effect.gen(function*() {
      const kv = yield* makeMemoryKvStore("tokens")
      const store = TokenStore.make(yield* kv.view, { storage: testStorage })
      const fence = { holder: "replica-1", term: 7 }
      const initial = yield* store.read(provider)
      const leader = yield* makeFencedState({ provider, store, fence, guard: Effect.void, initial })
      yield* leader.write((s) => s.state)
      const first = yield* leader.write((s) => ({ ...s.state, token: token("first"), carry: Redacted.make("carry-1") }))
      yield* leader.write((s) => s.state)
      assert.isAbove(first.revision!, 1)

      yield* kv.recreate
      // The leader's next write (say, a budget spend) conflicts with the empty bucket, and lands there.
      yield* leader.write((s) => s.state)
      const observer = TokenStore.make(yield* kv.view, { storage: testStorage })
      const restored = yield* observer.read(provider)
      assert.strictEqual(restored.revision, 1)
      assert.strictEqual(restored.token?.version, first.token!.version)
      assert.strictEqual(Redacted.value(restored.token!.accessToken), "first")
      assert.strictEqual(Redacted.value(restored.state.carry!), "carry-1")
      assert.deepStrictEqual(restored.state.fence, fence)

      const second = yield* leader.write((s) => ({ ...s.state, token: token("second") }))
      assert.isAbove(second.token!.version, first.token!.version)
      assert.strictEqual((yield* observer.read(provider)).token?.version, second.token!.version)
    }))
})
