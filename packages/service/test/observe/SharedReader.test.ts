// The dashboard's shared reader (src/observe/internal/SharedReader.ts) on the
// TestClock: it starts with the first page and not before, every page gets
// the same messages from one reader, a page that connects late starts from
// the latest snapshot, the reader stops once the last page has been gone for
// the idle time, and a page that stops reading loses its oldest messages
// instead of having the replica hold every one of them.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { type Publisher, shareReader } from "../../src/observe/internal/SharedReader.ts"

describe("the dashboard's shared reader", () => {
  it.effect("runs once for every page, only while pages are open, and starts late pages from the latest", () =>
    Effect.gen(function*() {
      let starts = 0
      let stops = 0
      // A snapshot every second, numbered.
      const reader = (hub: Publisher<number>) =>
        Effect.gen(function*() {
          yield* Effect.acquireRelease(Effect.sync(() => void starts++), () => Effect.sync(() => void stops++))
          let n = 0
          const tick = Effect.andThen(Effect.sleep(1_000), Effect.suspend(() => hub.publishLatest(++n)))
          yield* Effect.forkScoped(Effect.forever(tick))
        })
      const pages = yield* shareReader(reader, { backlog: 16, idleMillis: 5_000 })
      yield* TestClock.adjust(10_000)
      assert.strictEqual(starts, 0, "no page, no reader")

      const first = yield* Effect.forkChild(Stream.runCollect(Stream.take(pages, 3)))
      const second = yield* Effect.forkChild(Stream.runCollect(Stream.take(pages, 3)))
      for (let tick = 0; tick < 3; tick++) yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* Fiber.join(first), [1, 2, 3])
      assert.deepStrictEqual(yield* Fiber.join(second), [1, 2, 3])
      assert.strictEqual(starts, 1, "one reader for both pages")

      const late = yield* Effect.forkChild(Stream.runCollect(Stream.take(pages, 2)))
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* Fiber.join(late), [3, 4], "a late page starts from the latest snapshot")
      assert.strictEqual(starts, 1, "a page within the idle time finds the reader running")

      yield* TestClock.adjust(4_000)
      assert.strictEqual(stops, 0, "the reader waits the idle time after the last page")
      yield* TestClock.adjust(2_000)
      assert.strictEqual(stops, 1, "and stops after it")
    }))

  it.effect("drops the oldest messages of a page that does not read, keeping at most the backlog", () =>
    Effect.gen(function*() {
      const burst = yield* Deferred.make<void>()
      const sent = yield* Deferred.make<void>()
      const reader = (hub: Publisher<number>) =>
        Effect.forkScoped(Effect.gen(function*() {
          yield* hub.publish(0)
          yield* Deferred.await(burst)
          for (let n = 1; n <= 1_000; n++) yield* hub.publish(n)
          yield* Deferred.succeed(sent, undefined)
        }))
      const pages = yield* shareReader(reader, { backlog: 16, idleMillis: 0 })
      const received = yield* Effect.scoped(Effect.gen(function*() {
        const pull = yield* Stream.toPull(pages)
        const got: Array<number> = [...(yield* pull)]
        // The page has its subscription and reads nothing while 1,000 messages are published.
        yield* Deferred.succeed(burst, undefined)
        yield* Deferred.await(sent)
        while (got.at(-1) !== 1_000) got.push(...(yield* pull))
        return got
      }))
      assert.strictEqual(received[0], 0)
      assert.isAtMost(received.length, 1 + 16, `held ${received.length - 1} messages for a page that did not read`)
      // What it kept are the newest, in order.
      const kept = received.length - 1
      assert.deepStrictEqual(received.slice(1), Array.from({ length: kept }, (_, i) => 1_001 - kept + i))
    }))
})
