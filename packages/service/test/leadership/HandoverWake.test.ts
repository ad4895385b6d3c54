// A replica that has just joined, given a provider whose fence names a member
// that is in fact dead (its last renewal seen live), waits for that member to
// hand it over. The moment its view drops the member, it takes the provider:
// it used to look again only every quarter of the handover time, which in
// chaos seed 1681565552 made a newcomer's takeover the last straw of a gap
// past the lease TTL plus a second. And a provider whose refresh token its
// live holder has no call in doubt with is taken after the handover time:
// it used to wait ten (chaos seed 1592716835: a holder that had lost its
// lease and joined again, leading nothing; 16.6 s without a leader). And a
// provider whose owner left in the same change a member joined in is taken
// at once, not after the settle time of a starting cluster. Nor does a
// newcomer settle for a provider a live member leads: when that leader goes
// (a rolling restart stopping it), the provider is taken at once; it waited
// out the settle time unled (the key rotation test's restarts, in CI). And
// the settle counts from the join, not from the end of the fence's read.
import { assert, describe, it } from "@effect/vitest"
import { rendezvousOwner } from "@tokenbus/core"
import { Clock, Effect, Ref, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import type { ConfiguredProvider } from "../../src/config/ConfiguredProvider.ts"
import { runAssignment } from "../../src/leadership/Assignment.ts"
import type { Snapshot } from "../../src/store/TokenStore.ts"
import { makeUpstream, providerFor } from "../support/MemoryCluster.ts"

const handoverMillis = 600
const settleMillis = 300

/** A provider that moves from "dead" to "self" when "self" joins. */
const movingId = Array.from({ length: 100 }, (_, index) => `carrier-${index}`)
  .find((id) => rendezvousOwner(id, ["dead", "self"]) === "self")!

const heldByDead: Snapshot = { revision: 3, state: { fence: { holder: "dead", term: 1 } }, token: undefined }

/** Runs the assignment of "self" for `provider`, its state read by `holderOf`; returns when it started leading. */
const assign = (
  provider: ConfiguredProvider,
  live: SubscriptionRef.SubscriptionRef<ReadonlyArray<string>>,
  holderOf: (provider: string) => Effect.Effect<Snapshot | undefined> = () => Effect.succeed(heldByDead)
) =>
  Effect.gen(function*() {
    const ledAt = yield* Ref.make<number | undefined>(undefined)
    yield* runAssignment({
      self: "self",
      members: { live, isLive: (member) => Effect.map(SubscriptionRef.get(live), (m) => m.includes(member)) },
      providers: yield* SubscriptionRef.make<ReadonlyArray<ConfiguredProvider>>([provider]),
      guard: Effect.void,
      held: { freshTerm: Effect.succeed(7) },
      lead: () => Effect.andThen(Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.set(ledAt, now)), Effect.never),
      holderOf,
      handoverMillis,
      settleMillis,
      retryMillis: 1500
    }).pipe(Effect.forkScoped)
    yield* TestClock.adjust(1)
    // The assignment subscribes to the members in fibers of its own: let them get there first.
    yield* Effect.repeat(Effect.yieldNow, { times: 50 })
    return ledAt
  })

describe("a provider whose refresh token a live holder has no call in doubt with", () => {
  it.effect("is taken after the handover time, not ten times that", () =>
    Effect.gen(function*() {
      const base = providerFor(yield* makeUpstream)
      const provider: ConfiguredProvider = { ...base, id: movingId, carries: true }
      const live = yield* SubscriptionRef.make<ReadonlyArray<string>>([])
      const ledAt = yield* assign(provider, live)
      // "dead" is live here: it lost its lease and joined again, and leads nothing.
      yield* SubscriptionRef.set(live, ["dead", "self"])
      yield* TestClock.adjust(1_500)
      // Joined at 1 ms; a provider a live member leads is not settled for: the handover time from there.
      assert.strictEqual(yield* Ref.get(ledAt), 601)
    }).pipe(Effect.scoped))
})

/** A provider of "dead" among dead, other and self that goes to "self" when "newcomer" takes dead's place. */
const orphanedId = Array.from({ length: 200 }, (_, index) => `carrier-${index}`)
  .find((id) =>
    rendezvousOwner(id, ["dead", "other", "self"]) === "dead" &&
    rendezvousOwner(id, ["newcomer", "other", "self"]) === "self"
  )!

describe("a provider whose owner left in the change a member joined in", () => {
  // Chaos seed 3237547717: a leader's replacement joined as the leader was seen gone; its providers waited
  // the settle time of a starting cluster on top of the detection, 4 s without a leader.
  it.effect("is taken at once, without settling", () =>
    Effect.gen(function*() {
      const base = providerFor(yield* makeUpstream)
      const provider: ConfiguredProvider = { ...base, id: orphanedId }
      const live = yield* SubscriptionRef.make<ReadonlyArray<string>>([])
      const ledAt = yield* assign(provider, live)
      yield* SubscriptionRef.set(live, ["dead", "other", "self"])
      yield* TestClock.adjust(1_000)
      assert.isUndefined(yield* Ref.get(ledAt))
      yield* SubscriptionRef.set(live, ["newcomer", "other", "self"])
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Ref.get(ledAt), 1_001)
    }).pipe(Effect.scoped))
})

/** Self joins at 1 ms beside "dead", whose fence the provider holds; "dead" drops out of the view at `goneAt`. */
const ledWhenHolderGoes = (goneAt: number) =>
  Effect.gen(function*() {
    const base = providerFor(yield* makeUpstream)
    const provider: ConfiguredProvider = { ...base, id: movingId }
    const live = yield* SubscriptionRef.make<ReadonlyArray<string>>([])
    const ledAt = yield* assign(provider, live)
    yield* SubscriptionRef.set(live, ["dead", "self"])
    yield* TestClock.adjust(goneAt - 1)
    assert.isUndefined(yield* Ref.get(ledAt))
    yield* SubscriptionRef.set(live, ["self"])
    yield* TestClock.adjust(1)
    return yield* Ref.get(ledAt)
  }).pipe(Effect.scoped)

describe("a newcomer waiting for a dead member's handover", () => {
  // It looks at the fence when it joins and every 150 ms after, until the handover time ends at 601 ms.
  it.effect("takes the provider as soon as its view drops that member", () =>
    Effect.map(ledWhenHolderGoes(401), (ledAt) => assert.strictEqual(ledAt, 401)))
})

describe("a newcomer given a provider a live member leads", () => {
  // The leader is stopped 100 ms after the newcomer joined, within what used to be its settle time.
  it.effect("takes it the moment that leader goes, without settling", () =>
    Effect.map(ledWhenHolderGoes(101), (ledAt) => assert.strictEqual(ledAt, 101)))
})

describe("a provider nobody leads, at a cluster's start", () => {
  // A start of thousands of providers queues their reads: the settle counts from the join, not from the end
  // of the read, or the queue's length is added to every first token. Joined at 1 ms; after the settle (at
  // 301 ms, or once a read longer than that ended) it is read again, for a member that took it meanwhile.
  it.effect.each([
    { readMillis: 200, expected: 1 + settleMillis + 200 },
    { readMillis: 400, expected: 1 + 400 + 400 }
  ])("is taken after the settle time counted from the join, with a read of $readMillis ms", ({ expected, readMillis }) =>
    Effect.gen(function*() {
      const base = providerFor(yield* makeUpstream)
      const unled: Snapshot = { revision: 1, state: {}, token: undefined }
      const live = yield* SubscriptionRef.make<ReadonlyArray<string>>([])
      const read = () => Effect.delay(Effect.succeed(unled), readMillis)
      const ledAt = yield* assign({ ...base, id: movingId }, live, read)
      yield* SubscriptionRef.set(live, ["self"])
      yield* TestClock.adjust(2_000)
      assert.strictEqual(yield* Ref.get(ledAt), expected)
    }).pipe(Effect.scoped))
})
