// Writes of the lock that the bucket applied but whose reply never came back
// in time, as happens while NATS moves a stream's leader. The replica must
// recognise its own write (and only its own: not a twin's with the same id),
// keep or take the lock it holds, count the lease from when that write was
// sent, and release the revision it never got an answer for.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Option, Ref } from "effect"
import { TestClock } from "effect/testing"
import { defaultLeaseConfig } from "@tokenbus/core"
import {
  advance,
  type Campaigner,
  guardOf,
  key,
  lastEvent,
  lease,
  makeHarness,
  settle,
  steppingClock
} from "./LockHarness.ts"

/** Longer than any attempt waits: the reply is as good as lost. */
const lost = 60_000

/** Runs to `due`, when `campaigner` sends its next renewal: it reaches the bucket, but its reply does not come back. */
const loseNextRenewalReply = (campaigner: Campaigner, due: number) =>
  Effect.gen(function*() {
    yield* TestClock.adjust(due - 1 - (yield* Clock.currentTimeMillis))
    yield* campaigner.view.delayReplies(lost)
    yield* TestClock.adjust(1)
    yield* settle
    yield* campaigner.view.delayReplies(0)
  })

describe("campaign, when replies are lost", () => {
  it.effect("a renewal whose reply is lost is adopted: the leader keeps leading, nobody waits out a TTL", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const a = yield* h.start("a")
      yield* h.start("b")
      yield* advance(3_200, 100, h.leaders)
      const before = yield* h.writesOf("a")
      const last = before.at(-1)
      assert.isDefined(last)

      yield* loseNextRenewalReply(a, last.sentAt + lease.renewEveryMillis)
      const observer = yield* h.store.view
      const landed = yield* observer.get(key)
      assert.deepStrictEqual(Option.map(landed, (v) => v.revision), Option.some(last.revision + 1), "it landed")
      assert.strictEqual((yield* h.writesOf("a")).length, before.length, "and was not answered")

      yield* advance(60_000, 100, h.leaders)
      const events = yield* Ref.get(h.events)
      assert.deepStrictEqual(events.map((e) => [e.holder, e.kind]), [["a", "lead"]], "leadership changed hands")
      assert.deepStrictEqual(yield* h.lockHolder, Option.some("a"))
      yield* guardOf(a)
      // Renewals went on from the adopted revision.
      const after = yield* h.writesOf("a")
      assert.isAtLeast(after.length - before.length, 60_000 / lease.renewEveryMillis - 2)
      assert.isAbove(after[before.length]!.revision, last.revision + 1)
    }))

  it.effect("a renewal sent as the event loop stalls, its timeout firing first, is adopted at once: the lease holds", () =>
    Effect.gen(function*() {
      // The default lease, under which a replica whose event loop stalls for up to about 700 ms keeps its lease
      // (Lease.ts in core); the stall here is test/EventLoopStall.test.ts's 500 ms.
      const config = defaultLeaseConfig
      const h = yield* makeHarness(config)
      const stalling = steppingClock(yield* Clock.Clock, "all")
      const a = yield* h.start("a", { clock: stalling.clock })
      yield* h.start("b")
      yield* advance(3_000, 50, h.leaders)
      const last = (yield* h.writesOf("a")).at(-1)
      assert.isDefined(last)

      // The renewal goes out at `due` and lands; the process stops before it reads the reply, and resumes 500 ms
      // later with the renewal's timeout overdue, which fires first. Its clock jumps so that timeout, due at
      // `due` + renewEveryMillis, fires at `due` + 500 by a's reckoning: 200 ms before the lease it held runs out.
      yield* loseNextRenewalReply(a, last.sentAt + config.renewEveryMillis)
      yield* stalling.step(500 - config.renewEveryMillis)
      yield* advance(10_000, 50, h.leaders)

      const events = yield* Ref.get(h.events)
      assert.deepStrictEqual(events.map((e) => [e.holder, e.kind]), [["a", "lead"]], "leadership changed hands")
      assert.deepStrictEqual(yield* h.lockHolder, Option.some("a"))
      yield* Effect.provideService(yield* guardOf(a), Clock.Clock, stalling.clock)
    }))

  it.effect("a create whose reply is lost: the replica finds its own lock and leads, the lease from its send", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const a = yield* h.start("a", { prepare: (view) => view.delayReplies(lost) })
      yield* a.view.delayReplies(0)
      yield* h.start("b")
      yield* advance(30_000, 100, h.leaders)

      const events = yield* Ref.get(h.events)
      assert.deepStrictEqual(events.map((e) => [e.holder, e.kind]), [["a", "lead"]])
      // Within two attempts (the create, then the read), not a lease TTL later.
      assert.isAtMost(lastEvent(events, "a", "lead").at, 2 * lease.renewEveryMillis)
      assert.deepStrictEqual(yield* h.lockHolder, Option.some("a"))

      // The lease counted from the create's send (time 0): cut off now, a
      // stops by the end of the lease of its last write that got through.
      yield* a.view.partition(true)
      const lastOfA = (yield* h.writesOf("a")).at(-1)
      assert.isDefined(lastOfA)
      yield* advance(20_000, 50, h.leaders)
      const stopped = lastEvent(yield* Ref.get(h.events), "a", "stop")
      assert.isAtMost(stopped.at, lastOfA.sentAt + lease.ttlMillis - lease.safetyMarginMillis)
    }))

  it.effect("a leader stopped while a renewal is unanswered deletes the lock at the revision that renewal made", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const a = yield* h.start("a")
      yield* h.start("b")
      yield* advance(3_200, 100, h.leaders)
      const last = (yield* h.writesOf("a")).at(-1)
      assert.isDefined(last)
      yield* TestClock.adjust(last.sentAt + lease.renewEveryMillis - 1 - (yield* Clock.currentTimeMillis))
      yield* a.view.delayReplies(lost)
      yield* TestClock.adjust(101)
      yield* a.view.delayReplies(0)

      // SIGTERM: the lock is at a revision a never heard of, and a deletes it all the same.
      const stoppedAt = yield* Clock.currentTimeMillis
      yield* Fiber.interrupt(a.fiber)
      yield* settle
      const events = yield* Ref.get(h.events)
      assert.strictEqual(lastEvent(events, "b", "lead").at, stoppedAt, "b waited for the lock to lapse")
      assert.deepStrictEqual(yield* h.lockHolder, Option.some("b"))
    }))

  it.effect("a twin with the same replica id is not mistaken for the leader, even with a lost reply of its own", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.start("a")
      yield* advance(2_000, 100, h.leaders)
      // Same id, another process: its create conflicts, but the answer is lost, so it reads the lock.
      const twin = yield* h.start("a", { prepare: (view) => view.delayReplies(lost) })
      yield* twin.view.delayReplies(0)
      yield* advance(30_000, 100, h.leaders)
      const events = yield* Ref.get(h.events)
      assert.strictEqual(events.filter((e) => e.kind === "lead").length, 1, "the twin led on the other's lock")
      assert.strictEqual(Option.isNone(yield* Ref.get(twin.guard)), true)
    }))
})
