// The bound on what a replica does for many providers at once (FifoLimit):
// never more than its permits at a time, turns in arrival order, and no
// permit lost when a waiter or a holder is interrupted, even as its turn
// comes. Thousands of waiters and the same number of releases stay well
// within a test's time (Effect's Semaphore scans every waiter per release),
// and a line of them whose work ends at once does not hang.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { makeFifoLimit } from "../../src/leadership/internal/FifoLimit.ts"

const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

describe("FifoLimit", () => {
  it.effect("runs at most its permits at once, and the rest in the order they came", () =>
    Effect.gen(function*() {
      const limit = yield* makeFifoLimit(2)
      const gates = Array.from({ length: 6 }, () => Deferred.makeUnsafe<void>())
      const started: Array<number> = []
      let running = 0
      let most = 0
      const job = (index: number) =>
        limit.withPermit(Effect.gen(function*() {
          started.push(index)
          most = Math.max(most, ++running)
          yield* Deferred.await(gates[index]!)
          running--
        }))
      const fibers = yield* Effect.forEach(gates, (_, index) => Effect.forkChild(job(index)))
      yield* settle
      assert.deepStrictEqual(started, [0, 1])
      for (const index of [1, 0, 2, 3, 4, 5]) {
        yield* Deferred.succeed(gates[index]!, undefined)
        yield* settle
      }
      yield* Effect.forEach(fibers, Fiber.join)
      assert.deepStrictEqual(started, [0, 1, 2, 3, 4, 5])
      assert.strictEqual(most, 2)
    }))

  it.effect("an interrupted waiter leaves the line; an interrupted holder gives its permit on", () =>
    Effect.gen(function*() {
      const limit = yield* makeFifoLimit(1)
      const hold = Deferred.makeUnsafe<void>()
      const ran: Array<string> = []
      const holder = yield* Effect.forkChild(limit.withPermit(Effect.andThen(Deferred.await(hold), Effect.sync(() => ran.push("holder")))))
      yield* settle
      const waiter = yield* Effect.forkChild(limit.withPermit(Effect.sync(() => ran.push("waiter"))))
      const last = yield* Effect.forkChild(limit.withPermit(Effect.sync(() => ran.push("last"))))
      yield* settle
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(holder)
      yield* Fiber.join(last)
      assert.deepStrictEqual(ran, ["last"])
      // The one permit is free again.
      assert.strictEqual(yield* limit.withPermit(Effect.succeed("free")), "free")
    }))

  it.effect("a waiter interrupted just as its turn is granted passes the permit on", () =>
    Effect.gen(function*() {
      const limit = yield* makeFifoLimit(1)
      const hold = Deferred.makeUnsafe<void>()
      const ran: Array<string> = []
      const holder = yield* Effect.forkChild(limit.withPermit(Deferred.await(hold)))
      yield* settle
      const waiter = yield* Effect.forkChild(limit.withPermit(Effect.sync(() => ran.push("waiter"))))
      const next = yield* Effect.forkChild(limit.withPermit(Effect.sync(() => ran.push("next"))))
      yield* settle
      // The holder's release grants the waiter its turn; the waiter is interrupted before it runs.
      yield* Deferred.succeed(hold, undefined)
      yield* Fiber.interrupt(waiter)
      yield* Fiber.join(holder)
      yield* Fiber.join(next)
      assert.deepStrictEqual(ran, ["next"])
      assert.strictEqual(yield* limit.withPermit(Effect.succeed("free")), "free")
    }))

  it.effect("a long line of waiters whose work ends at once does not nest one release in another", () =>
    Effect.gen(function*() {
      const limit = yield* makeFifoLimit(1)
      const hold = Deferred.makeUnsafe<void>()
      const holder = yield* Effect.forkChild(limit.withPermit(Deferred.await(hold)))
      yield* settle
      let done = 0
      const line = yield* Effect.forkChild(Effect.forEach(
        Array.from({ length: 20_000 }, (_, index) => index),
        () => limit.withPermit(Effect.sync(() => done++)),
        { concurrency: "unbounded", discard: true }
      ))
      yield* settle
      yield* Deferred.succeed(hold, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.join(line)
      assert.strictEqual(done, 20_000)
    }))

  it.effect("ten thousand waiters through 32 permits", () =>
    Effect.gen(function*() {
      const limit = yield* makeFifoLimit(32)
      let done = 0
      yield* Effect.forEach(
        Array.from({ length: 10_000 }, (_, index) => index),
        () => limit.withPermit(Effect.andThen(Effect.yieldNow, Effect.sync(() => done++))),
        { concurrency: "unbounded", discard: true }
      )
      assert.strictEqual(done, 10_000)
    }))
})
