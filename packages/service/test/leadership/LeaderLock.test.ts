// Leader election over the in-memory KV bucket, under TestClock. The point of
// the lock is that two replicas never act as leader at once: these tests run
// two or three campaigners on one bucket, record when each one's `lead`
// starts and stops, and check that the intervals never overlap, including
// when a leader is killed and when it is cut off from the bucket.
import { assert, describe, it } from "@effect/vitest"
import { type LeaseConfig, leaseConfigProblem } from "@tokenbus/core"
import { Clock, Effect, Fiber, Option, Ref, Schema } from "effect"
import { TestClock } from "effect/testing"
import {
  advance,
  type Campaigner,
  currentLeaders,
  guardOf,
  key,
  lastEvent,
  lease,
  makeHarness,
  settle
} from "./LockHarness.ts"

describe("campaign", () => {
  it.effect("exactly one of three campaigners leads, and keeps leading across many renewals", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const a = yield* h.start("a")
      yield* h.start("b")
      yield* h.start("c")

      assert.deepStrictEqual(yield* h.leaders, ["a"])
      assert.deepStrictEqual(yield* h.lockHolder, Option.some("a"))

      // Two minutes in steps that do not line up with the renewal period.
      yield* advance(120_000, 337, h.leaders)

      const events = yield* Ref.get(h.events)
      assert.deepStrictEqual(events.map((e) => [e.holder, e.kind]), [["a", "lead"]], "leadership changed hands")
      assert.deepStrictEqual(yield* h.lockHolder, Option.some("a"))
      // Renewed about every 1500 ms: well over the 6 s TTL many times.
      const renewals = (yield* Ref.get(h.writes)).filter((w) => w.holder === "a").length - 1
      assert.isAtLeast(renewals, 120_000 / lease.renewEveryMillis - 1)
      yield* guardOf(a)
    }))

  it.effect("a second campaigner that starts later does not take over", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.start("a")
      yield* advance(10_000, 500, h.leaders)
      yield* h.start("b")
      yield* advance(30_000, 500, h.leaders)
      assert.deepStrictEqual((yield* Ref.get(h.events)).map((e) => e.holder), ["a"])
    }))

  it.effect("interrupting the leader (SIGTERM) deletes the lock and another campaigner leads at once", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const a = yield* h.start("a")
      yield* h.start("b")
      yield* h.start("c")
      yield* advance(10_000, 250, h.leaders)
      assert.deepStrictEqual(yield* h.leaders, ["a"])

      const killedAt = yield* Clock.currentTimeMillis
      yield* Fiber.interrupt(a.fiber)
      // Without moving the clock: the followers learn of the delete from their
      // watch, not from polling or the TTL.
      yield* settle

      const events = yield* Ref.get(h.events)
      const aStopped = lastEvent(events, "a", "stop")
      assert.strictEqual(aStopped.at, killedAt)
      const [next] = yield* h.leaders
      assert.isDefined(next)
      assert.notStrictEqual(next, "a")
      assert.strictEqual(lastEvent(events, next, "lead").at, killedAt)
      assert.deepStrictEqual(yield* h.lockHolder, Option.some(next))

      // a's lock was deleted (a marker), then created anew.
      const writes = yield* Ref.get(h.writes)
      const lastOfA = writes.filter((w) => w.holder === "a").at(-1)
      const firstOfNext = writes.find((w) => w.holder === next)
      assert.strictEqual(firstOfNext?.revision, (lastOfA?.revision ?? 0) + 2)

      yield* advance(30_000, 250, h.leaders)
      assert.deepStrictEqual(yield* h.leaders, [next])
    }))

  it.effect("a lock whose reply arrives after the lease could have lapsed is given up without leading", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      // a's create is applied at once, but its reply takes 7 s: longer than ttl - margin.
      yield* h.start("a", { prepare: (view) => view.delayReplies(7000) })
      yield* h.start("b")
      yield* advance(20_000, 250, h.leaders)

      const events = yield* Ref.get(h.events)
      assert.deepStrictEqual(events.filter((e) => e.holder === "a"), [], "a led on a lock it got too late")
      assert.deepStrictEqual(yield* h.leaders, ["b"])
      assert.deepStrictEqual(yield* h.lockHolder, Option.some("b"))
    }))

  it.effect("a leader cut off from the bucket stops leading before its lease can lapse; another takes over after", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const a = yield* h.start("a")
      yield* h.start("b")
      yield* h.start("c")
      // Cut a off between two renewals.
      yield* advance(7_300, 100, h.leaders)
      assert.deepStrictEqual(yield* h.leaders, ["a"])
      yield* a.view.partition(true)

      yield* advance(20_000, 50, h.leaders)

      const events = yield* Ref.get(h.events)
      const aStopped = lastEvent(events, "a", "stop")
      const [next] = yield* h.leaders
      assert.isDefined(next, "nobody took over")
      assert.notStrictEqual(next, "a")
      const nextStarted = lastEvent(events, next, "lead")

      const lastRenewalOfA = (yield* Ref.get(h.writes)).filter((w) => w.holder === "a").at(-1)
      assert.isDefined(lastRenewalOfA)
      const aValidUntil = lastRenewalOfA.sentAt + lease.ttlMillis - lease.safetyMarginMillis

      assert.isBelow(aStopped.at, nextStarted.at, "a still led when the next leader started")
      assert.isAtMost(aStopped.at, aValidUntil, "a led past the end of its lease")
      // The lock lapses only a full TTL after a's last write reached the bucket.
      assert.isAtLeast(nextStarted.at, lastRenewalOfA.sentAt + lease.ttlMillis)

      // Healed, a rejoins as a follower.
      yield* a.view.partition(false)
      yield* advance(20_000, 250, h.leaders)
      assert.deepStrictEqual(yield* h.leaders, [next])
    }))

  it.effect.each([
    { cutAt: 2300, when: "before its first renewal" },
    { cutAt: 10_100, when: "after several renewals" }
  ])("a lease counts from when the write was sent, not from its slow reply (cut off $when)", ({ cutAt }) =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      // Writes get through at once, but each reply takes 1.2 s, more than the safety margin.
      // a leads once two replies are in: its create's, then the bucket's generation (for its term).
      const a = yield* h.start("a", { prepare: (view) => view.delayReplies(1200) })
      yield* h.start("b")
      yield* advance(cutAt, 100, h.leaders)
      assert.deepStrictEqual(yield* h.lockHolder, Option.some("a"))
      yield* a.view.partition(true)
      yield* advance(20_000, 50, h.leaders)

      const events = yield* Ref.get(h.events)
      assert.isDefined(lastEvent(events, "a", "lead"))
      const lastOfA = (yield* Ref.get(h.writes)).filter((w) => w.holder === "a").at(-1)
      assert.isDefined(lastOfA)
      const aStopped = lastEvent(events, "a", "stop")
      assert.isAtMost(aStopped.at, lastOfA.sentAt + lease.ttlMillis - lease.safetyMarginMillis)
      assert.isBelow(aStopped.at, lastEvent(events, "b", "lead").at)
    }))

  it.effect("the guard passes while the lease is valid and fails with LeadershipLost from its end", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const a = yield* h.start("a")
      yield* h.start("b")
      const guard = yield* guardOf(a)

      // Renewals keep it passing long past the first lease.
      for (let i = 0; i < 40; i++) {
        yield* TestClock.adjust(500)
        yield* guard
      }

      yield* a.view.partition(true)
      const lastRenewal = (yield* Ref.get(h.writes)).filter((w) => w.holder === "a").at(-1)
      assert.isDefined(lastRenewal)
      const end = lastRenewal.sentAt + lease.ttlMillis - lease.safetyMarginMillis

      yield* TestClock.adjust(end - 1 - (yield* Clock.currentTimeMillis))
      yield* guard
      yield* TestClock.adjust(1)
      const lost = yield* Effect.flip(guard)
      assert.strictEqual(lost._tag, "LeadershipLost")
      assert.strictEqual(lost.key, key)

      // It stays lost, even once a has healed and another replica leads.
      yield* TestClock.adjust(10_000)
      yield* a.view.partition(false)
      yield* TestClock.adjust(10_000)
      assert.strictEqual((yield* Effect.flip(guard))._tag, "LeadershipLost")
    }))

  it.effect("a leader whose renewal is refused steps down at once", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.start("a")
      yield* advance(3_000, 100, h.leaders)

      // An operator deletes the lock and another replica takes it: a's next
      // renewal conflicts.
      const operator = yield* h.store.view
      const current = yield* operator.get(key)
      assert.isTrue(Option.isSome(current))
      if (Option.isSome(current)) yield* operator.deleteAt(key, current.value.revision)
      const intruder = yield* operator.create(key, JSON.stringify({ holder: "z" }))
      const lastOfA = (yield* Ref.get(h.writes)).filter((w) => w.holder === "a").at(-1)
      assert.isDefined(lastOfA)
      const renewalDue = lastOfA.sentAt + lease.renewEveryMillis

      yield* TestClock.adjust(renewalDue - (yield* Clock.currentTimeMillis))
      yield* settle
      const events = yield* Ref.get(h.events)
      assert.strictEqual(lastEvent(events, "a", "stop").at, renewalDue)
      assert.deepStrictEqual(yield* h.leaders, [])
      // a's release conflicted and left the intruder's lock alone.
      assert.deepStrictEqual(Option.map(yield* operator.get(key), (v) => v.revision), Option.some(intruder))
    }))

  const int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

  it.effect.prop(
    "for any accepted lease and any moment the leader is cut off, no two replicas lead at once",
    {
      ttlMillis: int(1000, 20_000),
      marginMillis: int(1, 3000),
      renewShare: int(0, 100),
      campaigners: int(2, 3),
      cutAt: int(0, 30_000),
      healAfter: int(0, 40_000)
    },
    ({ campaigners, cutAt, healAfter, marginMillis, renewShare, ttlMillis }) =>
      Effect.gen(function*() {
        // Every lease that leaseConfigProblem accepts, with renewals of at least 100 ms to keep runs short.
        const safetyMarginMillis = Math.min(marginMillis, Math.floor(ttlMillis / 2))
        const maxRenew = Math.floor((ttlMillis - safetyMarginMillis) / 2)
        const renewEveryMillis = 100 + Math.floor((maxRenew - 100) * renewShare / 100)
        const config: LeaseConfig = { ttlMillis, renewEveryMillis, safetyMarginMillis }
        assert.isUndefined(leaseConfigProblem(config))

        // Runs share one TestClock, so times are relative to this run's start.
        const startedAt = yield* Clock.currentTimeMillis
        const h = yield* makeHarness(config)
        const all: Array<Campaigner> = []
        for (const holder of ["a", "b", "c"].slice(0, campaigners)) all.push(yield* h.start(holder))

        yield* TestClock.adjust(cutAt)
        const [leader] = yield* h.leaders
        const cut = all.find((c) => c.holder === leader)
        assert.isDefined(cut, "nobody led before the cut")
        yield* cut.view.partition(true)
        yield* TestClock.adjust(healAfter)
        const writes = yield* Ref.get(h.writes)
        yield* cut.view.partition(false)
        yield* TestClock.adjust(2 * ttlMillis + renewEveryMillis)

        // currentLeaders fails on any overlap in the whole history.
        const events = yield* Ref.get(h.events)
        assert.strictEqual(currentLeaders(events).length, 1, "nobody leads after the partition healed")

        const lastOfCut = writes.filter((w) => w.holder === cut.holder).at(-1)
        assert.isDefined(lastOfCut)
        const cutStopped = events.find((e) => e.holder === cut.holder && e.kind === "stop" && e.at >= startedAt + cutAt)
        if (healAfter >= ttlMillis) {
          // Cut off for longer than a lease: it must have stopped on its own, in time.
          assert.isDefined(cutStopped)
          assert.isAtMost(cutStopped.at, lastOfCut.sentAt + ttlMillis - safetyMarginMillis)
        }
      }).pipe(Effect.scoped),
    { timeout: 60_000, arbitrary: { runs: 100 } }
  )
})
