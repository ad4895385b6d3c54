// The leases bucket deleted and created again while three replicas campaign:
// its revisions start over at 1, so a term that is the bare lock revision
// would fall below the fence the last leader left in the provider's state,
// and every new leader would find itself deposed and step down, in a loop.
// The real campaign and the real FencedState run here on in-memory buckets.
import { assert, describe, it } from "@effect/vitest"
import { makeMemoryKvStore, type MemoryKvStore } from "@tokenbus/nats/testing"
import { Clock, Effect, Ref } from "effect"
import { TestClock } from "effect/testing"
import { makeFencedState } from "../../src/leadership/FencedState.ts"
import type { LeadershipGuard } from "../../src/leadership/LeaderLock.ts"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { testStorage } from "../support/StorageKeys.ts"
import { advance, type LeadEvent, lease, makeHarness } from "./LockHarness.ts"

const provider = "acme"

/** What a leader does first: write its fence into the provider's state; it steps down once deposed. */
const fenceAndHold = (tokens: MemoryKvStore, holder: string) => (guard: LeadershipGuard, term: number) =>
  Effect.gen(function*() {
    const store = TokenStore.make(yield* tokens.view, { storage: testStorage })
    const initial = yield* Effect.orDie(store.read(provider))
    const state = yield* makeFencedState({ provider, store, fence: { holder, term }, guard, initial })
    const fenced = yield* Effect.result(state.write((snapshot) => snapshot.state))
    if (fenced._tag === "Success") yield* state.deposed
  })

const leadsOf = (events: ReadonlyArray<LeadEvent>) => events.filter((event) => event.kind === "lead")

describe("campaign, when the leases bucket is deleted and created again", () => {
  it.effect("the next leader's term is above every earlier one: it fences the provider and stays", () =>
    Effect.gen(function*() {
      const tokens = yield* makeMemoryKvStore("tokenbus-tokens")
      const h = yield* makeHarness()
      for (const holder of ["a", "b", "c"]) yield* h.start(holder, { lead: fenceAndHold(tokens, holder) })
      // Long enough for the lock's revision to be well above 1.
      yield* advance(30_000, 250, h.leaders)
      const before = yield* Ref.get(h.events)
      assert.strictEqual(leadsOf(before).length, 1)
      const oldTerm = leadsOf(before)[0]!.term!

      const recreatedAt = yield* Clock.currentTimeMillis
      yield* h.store.recreate
      // Taking every lock away is outside the lease's promise: the old leader
      // may act until its next renewal fails, which the fence covers. So no
      // overlap check here, only what the fence leaves.
      for (let i = 0; i < 120; i++) yield* TestClock.adjust(250)

      const after = (yield* Ref.get(h.events)).slice(before.length)
      const [oldLeader] = leadsOf(before)
      const oldStop = after.find((event) => event.holder === oldLeader!.holder && event.kind === "stop")
      assert.isDefined(oldStop, "the old leader never stepped down")
      assert.isAtMost(oldStop.at, recreatedAt + lease.renewEveryMillis)
      const newLeads = leadsOf(after)
      assert.strictEqual(newLeads.length, 1, `leadership kept changing hands: ${JSON.stringify(newLeads)}`)
      const next = newLeads[0]!
      assert.isAbove(next.term!, oldTerm)
      const nextStopped = after.find((event) =>
        event.holder === next.holder && event.kind === "stop" && event.at >= next.at
      )
      assert.isUndefined(nextStopped, "the new leader stepped down")
      const stored = yield* TokenStore.make(yield* tokens.view, { storage: testStorage }).read(provider)
      assert.deepStrictEqual(stored.state.fence, { holder: next.holder, term: next.term! })
    }))
})
