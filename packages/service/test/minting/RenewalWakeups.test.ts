// The proactive renewal loop of one provider, on the real FencedState over an
// in-memory KV and under TestClock: it sleeps until its token is due (looking
// at the wall clock at most once a minute), not once a second, which cost a
// leader of thousands of providers thousands of wake-ups a second at idle;
// and a token committed meanwhile is planned at once, even when it is due
// before the loop would look at the clock again.
import { assert, describe, it } from "@effect/vitest"
import { type Lifecycle, type MintRequest } from "@tokenbus/core"
import { makeMemoryKvStore } from "@tokenbus/nats/testing"
import { Effect, Fiber, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { makeFencedState } from "../../src/leadership/FencedState.ts"
import { renewOnSchedule } from "../../src/minting/RenewalSchedule.ts"
import type { Serve } from "../../src/minting/SingleFlight.ts"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { testStorage } from "../support/StorageKeys.ts"

const provider = "acme"
const hour = 3_600_000
const minute = 60_000
/** Renewed at half its life, no jitter: a token issued at t for two hours is due at t + 1 h. */
const lifecycle: Lifecycle = { mode: "proactive", renewAt: 0.5, jitter: 0, maxAgeMillis: 12 * hour }

const token = (issuedAt: number, lifetimeMillis: number) => ({
  accessToken: Redacted.make(`token-${issuedAt}`),
  tokenType: "Bearer",
  issuedAt,
  expiresAt: issuedAt + lifetimeMillis,
  reason: "initial" as const
})

/** A leader's state holding a two-hour token issued at 0, its reads counted, and a serve that records what it is asked. */
const leader = Effect.gen(function*() {
  const kv = yield* makeMemoryKvStore("tokens")
  const store = TokenStore.make(yield* kv.view, { storage: testStorage })
  const state = yield* makeFencedState({
    provider,
    store,
    fence: { holder: "replica-1", term: 1 },
    guard: Effect.void,
    initial: yield* store.read(provider)
  })
  yield* state.write(() => ({ token: token(0, 2 * hour) }))
  let reads = 0
  const counted = { ...state, snapshot: Effect.tap(state.snapshot, () => Effect.sync(() => void reads++)) }
  const asked: Array<MintRequest> = []
  const serve: Serve = (request) => Effect.sync(() => void asked.push(request)).pipe(Effect.andThen(Effect.never))
  const loop = yield* Effect.forkChild(renewOnSchedule(counted, serve, lifecycle))
  return { state, asked, loop, reads: () => reads }
})

describe("renewOnSchedule's wake-ups", () => {
  it.effect("sleeps until the token is due, looking at the clock at most once a minute", () =>
    Effect.gen(function*() {
      const { asked, loop, reads } = yield* leader
      yield* TestClock.adjust(hour - minute)
      assert.deepStrictEqual(asked, [])
      // A tick a second would be 3,540 reads; a look a minute is 60.
      assert.isAtMost(reads(), 61)
      yield* TestClock.adjust(2 * minute)
      assert.strictEqual(asked.length, 1)
      assert.strictEqual(asked[0]?._tag, "Proactive")
      yield* Fiber.interrupt(loop)
    }))

  it.effect("plans a token committed meanwhile at once, though it is due before the loop would look again", () =>
    Effect.gen(function*() {
      const { asked, loop, state } = yield* leader
      const committedAt = 10 * minute + 5_000
      yield* TestClock.adjust(committedAt)
      // Another path (a 401's mint) commits a token for 20 s: due 10 s later, well before the next minute's look.
      yield* state.write(() => ({ token: token(committedAt, 20_000) }))
      yield* TestClock.adjust(9_000)
      assert.deepStrictEqual(asked, [])
      yield* TestClock.adjust(2_000)
      assert.strictEqual(asked.length, 1)
      const [renewal] = asked
      assert.strictEqual(renewal?._tag === "Proactive" ? renewal.version : undefined, (yield* state.snapshot).token?.version)
      yield* Fiber.interrupt(loop)
    }))
})
