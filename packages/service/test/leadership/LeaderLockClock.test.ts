// Leases against a wall clock that steps (NTP, an operator, a VM resumed),
// while real time, TestClock's and the monotonic clock's, does not. A lease
// is about elapsed time: the step must neither end a healthy leader's lease
// nor stretch the lease of a leader cut off from the bucket.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Option, Ref } from "effect"
import { TestClock } from "effect/testing"
import { advance, guardOf, lastEvent, lease, makeHarness, steppingClock } from "./LockHarness.ts"

const minutes = (n: number) => n * 60_000
const steps = [{ step: minutes(10), way: "forwards" }, { step: -minutes(10), way: "backwards" }]

/**
 * a (on a clock the test steps by `step` once a is cut off) and b campaign;
 * a is cut off from the bucket between two renewals. When a stops leading,
 * when its guard starts failing, and when b takes over, from the run's start.
 */
const cutOffLeader = (step: number) =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const wall = steppingClock(yield* Clock.Clock)
    const h = yield* makeHarness()
    const a = yield* h.start("a", { clock: wall.clock })
    yield* h.start("b")
    yield* advance(7_300, 100, h.leaders)
    assert.deepStrictEqual(yield* h.leaders, ["a"])
    const guard = yield* guardOf(a)
    yield* a.view.partition(true)
    yield* wall.step(step)
    let guardFailedAt: number | undefined
    for (let i = 0; i < 400 && guardFailedAt === undefined; i++) {
      yield* TestClock.adjust(50)
      const checked = yield* Effect.result(Effect.provideService(guard, Clock.Clock, wall.clock))
      if (checked._tag === "Failure") guardFailedAt = (yield* Clock.currentTimeMillis) - startedAt
    }
    yield* advance(10_000, 50, h.leaders)
    const events = yield* Ref.get(h.events)
    const lastOfA = (yield* h.writesOf("a")).at(-1)
    assert.isDefined(lastOfA)
    return {
      stopped: lastEvent(events, "a", "stop").at - startedAt,
      guardFailedAt,
      taken: lastEvent(events, "b", "lead").at - startedAt,
      deadline: lastOfA.sentAt + lease.ttlMillis - lease.safetyMarginMillis - startedAt
    }
  }).pipe(Effect.scoped)

describe("campaign, when the wall clock steps", () => {
  it.effect.each(steps)("a step $way neither ends a connected leader's lease nor changes its renewals", ({ step }) =>
    Effect.gen(function*() {
      const wall = steppingClock(yield* Clock.Clock)
      const h = yield* makeHarness()
      // Replies take 200 ms, so the step can fall while a renewal is on its way.
      const a = yield* h.start("a", { clock: wall.clock, prepare: (view) => view.delayReplies(200) })
      yield* h.start("b")
      yield* advance(5_000, 100, h.leaders)
      const before = yield* h.writesOf("a")
      const due = before.at(-1)!.sentAt + lease.renewEveryMillis
      yield* advance(due + 100 - (yield* Clock.currentTimeMillis), 50, h.leaders)
      yield* wall.step(step)
      yield* advance(60_000, 100, h.leaders)

      const events = yield* Ref.get(h.events)
      assert.deepStrictEqual(events.map((e) => [e.holder, e.kind]), [["a", "lead"]], "leadership changed hands")
      assert.deepStrictEqual(yield* h.lockHolder, Option.some("a"))
      yield* Effect.provideService(yield* guardOf(a), Clock.Clock, wall.clock)
      // One renewal every renewEveryMillis of real time, as before the step.
      const writes = yield* h.writesOf("a")
      assert.isAtLeast(writes.length - before.length, 60_000 / lease.renewEveryMillis)
      for (let i = 1; i < writes.length; i++) {
        assert.strictEqual(writes[i]!.sentAt - writes[i - 1]!.sentAt, lease.renewEveryMillis)
      }
    }))

  it.effect.each(steps)("a leader cut off from the bucket stops at the same moment after a step $way", ({ step }) =>
    Effect.gen(function*() {
      const steady = yield* cutOffLeader(0)
      assert.isDefined(steady.guardFailedAt)
      assert.isAtMost(steady.stopped, steady.deadline)
      assert.isAtMost(steady.guardFailedAt, steady.deadline + 50)
      assert.isBelow(steady.stopped, steady.taken)
      const stepped = yield* cutOffLeader(step)
      assert.deepStrictEqual(stepped, steady, `the wall clock stepped by ${step} ms moved the lease`)
    }))
})
