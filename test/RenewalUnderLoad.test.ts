// A replica handed thousands of providers at once keeps its member lease
// while it takes them over. Each takeover asks the lease for a fresh term;
// one renewal answers them all, and each then does its work. That work ran
// inside the renewal loop, all of it before the loop could look at its
// lease again (completing a Deferred runs its waiters on the spot), and on
// Effect's default scheduler it ran in one macrotask anyway: at 10,000
// providers a replica spent seconds without firing a timer, its member lease
// ran out, and everything it had just taken moved again. Here the real lock
// on the real nats-server, at the default lease, is held by a member whose
// 3,000 takeovers each do 1 ms of synchronous work (3 s in all, three lease
// lengths), on the scheduler a replica runs on: the member must never lose
// its lease.
import { defaultLeaseConfig } from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { randomPrefix } from "@tokenbus/testing"
import { LeaderLock, timeSliced } from "@tokenbus/service"
import { Deferred, Effect, Layer, Ref } from "effect"
import { describe, expect, inject, it } from "vitest"

// More than Effect's budget of 2,048 steps before a fiber yields, which a renewal answering them must not spend.
const TAKEOVERS = 3000
const WORK_MILLIS = 1

/** What a takeover costs: CPU that no I/O interrupts. */
const work = Effect.sync(() => {
  const until = performance.now() + WORK_MILLIS
  while (performance.now() < until) {
    // busy, as decoding, verifying and subscribing are
  }
})

const heldThroughTakeovers = Effect.gen(function*() {
  const nats = yield* NatsConnection
  const bucket = yield* nats.bucket(`${randomPrefix()}-leases`, {
    ttlMillis: defaultLeaseConfig.ttlMillis,
    replicas: 1,
    settingNames: { ttlMillis: "lease.ttlMillis", replicas: "nats.replicas" }
  })
  const lock = LeaderLock.make(bucket, "loaded-member", defaultLeaseConfig)
  const joins = yield* Ref.make(0)
  const lost = yield* Ref.make(false)
  const done = yield* Deferred.make<void>()
  yield* lock.join((_guard, _term, held) =>
    Effect.gen(function*() {
      if ((yield* Ref.getAndUpdate(joins, (n) => n + 1)) > 0) return
      yield* Effect.forEach(Array.from({ length: TAKEOVERS }), () => Effect.andThen(held.freshTerm, work), {
        concurrency: "unbounded",
        discard: true
      })
      // Two lease lengths more: a lease that lapsed during the work would have shown by then.
      yield* Effect.sleep(2 * defaultLeaseConfig.ttlMillis)
      yield* Deferred.succeed(done, undefined)
      yield* Effect.never
    }).pipe(Effect.onInterrupt(() => Effect.andThen(Ref.set(lost, true), Deferred.succeed(done, undefined))))
  ).pipe(Effect.forkScoped)
  yield* Deferred.await(done).pipe(Effect.timeout(60_000))
  return { joins: yield* Ref.get(joins), lost: yield* Ref.get(lost) }
})

describe("renewals under a burst of takeovers", () => {
  it("a member doing 3 s of takeover work at once keeps its member lease", async () => {
    const connection = NatsConnection.layer({ servers: [inject("natsUrl")], name: "renewal-under-load" })
    const result = await Effect.runPromise(
      timeSliced(heldThroughTakeovers).pipe(Effect.scoped, Effect.provide(Layer.fresh(connection)))
    )
    expect(result).toEqual({ joins: 1, lost: false })
  })
})
