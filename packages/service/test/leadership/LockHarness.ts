// What the leader-election tests share: campaigners running the real
// `campaign` on one in-memory leases bucket under TestClock, each on its own
// view of it (so faults hit one replica), with a record of when each one's
// `lead` started and stopped, the term it was given, and the lock writes the
// bucket accepted. Times are TestClock's, also for a campaigner given a clock
// of its own (a wall clock that steps): what the test measures is real time.
import { assert } from "@effect/vitest"
import type { LeaseConfig } from "@tokenbus/core"
import type { KvBucket } from "@tokenbus/nats"
import { makeMemoryKvStore, type MemoryKvBucket, type MemoryKvStore } from "@tokenbus/nats/testing"
import { Clock, Duration, Effect, Fiber, Option, Ref, type Scope } from "effect"
import { TestClock } from "effect/testing"
import { campaign, type LeadershipGuard } from "../../src/leadership/LeaderLock.ts"

export const lease: LeaseConfig = { ttlMillis: 6000, renewEveryMillis: 1500, safetyMarginMillis: 1000 }
export const key = "project44-eu"

export interface LeadEvent {
  readonly holder: string
  readonly kind: "lead" | "stop"
  readonly at: number
  /** The term `lead` was given (on "lead" events). */
  readonly term?: number
}

/** A write of the lock that the bucket accepted and answered, with the time it was sent. */
export interface Write {
  readonly holder: string
  readonly sentAt: number
  readonly revision: number
}

export interface Campaigner {
  readonly holder: string
  readonly view: MemoryKvBucket
  readonly fiber: Fiber.Fiber<never>
  /** The guard handed to this campaigner's latest `lead`. */
  readonly guard: Ref.Ref<Option.Option<LeadershipGuard>>
}

export interface StartOptions {
  /** Runs on the campaigner's view before it starts (faults from the first write on). */
  readonly prepare?: (view: MemoryKvBucket) => Effect.Effect<void>
  /** The campaigner's own clock, in place of TestClock. */
  readonly clock?: Clock.Clock
  /** What it does while it leads (default: nothing until interrupted); returning steps down. */
  readonly lead?: (guard: LeadershipGuard, term: number) => Effect.Effect<void, never, Scope.Scope>
}

/** Lets forked fibers run up to their next suspension without moving the clock. */
export const settle = Effect.repeat(Effect.yieldNow, { times: 50 })

/** Who is leading after these events; fails if two ever lead at once. */
export const currentLeaders = (events: ReadonlyArray<LeadEvent>): ReadonlyArray<string> => {
  const leading = new Set<string>()
  for (const event of events) {
    if (event.kind === "lead") {
      assert.strictEqual(leading.size, 0, `${event.holder} started leading at ${event.at} while ${[...leading]} led`)
      leading.add(event.holder)
    } else {
      assert.isTrue(leading.delete(event.holder), `${event.holder} stopped at ${event.at} without leading`)
    }
  }
  return [...leading]
}

/** Advances the clock in steps, checking after each that at most one replica leads. */
export const advance = (millis: number, step: number, leaders: Effect.Effect<ReadonlyArray<string>>) =>
  Effect.gen(function*() {
    for (let done = 0; done < millis; done += step) {
      yield* TestClock.adjust(Math.min(step, millis - done))
      assert.isAtMost((yield* leaders).length, 1)
    }
  })

export const lastEvent = (events: ReadonlyArray<LeadEvent>, holder: string, kind: LeadEvent["kind"]) => {
  const found = events.filter((e) => e.holder === holder && e.kind === kind).at(-1)
  assert.isDefined(found, `no ${kind} event for ${holder}`)
  return found
}

export const guardOf = (campaigner: Campaigner) =>
  Effect.flatMap(Ref.get(campaigner.guard), (guard) =>
    Option.match(guard, {
      onNone: () => Effect.die(`${campaigner.holder} never led`),
      onSome: Effect.succeed
    }))

/** Records the lock writes that succeed, so a test knows a leader's last successful renewal. */
const recordingWrites = (
  bucket: KvBucket,
  holder: string,
  writes: Ref.Ref<ReadonlyArray<Write>>,
  clock: Clock.Clock
): KvBucket => {
  const recorded = <E>(write: Effect.Effect<number, E>): Effect.Effect<number, E> =>
    Effect.flatMap(clock.currentTimeMillis, (sentAt) =>
      Effect.tap(write, (revision) => Ref.update(writes, (all) => [...all, { holder, sentAt, revision }])))
  return {
    ...bucket,
    create: (k, value) => recorded(bucket.create(k, value)),
    update: (k, value, revision) => recorded(bucket.update(k, value, revision))
  }
}

export const makeHarness = (config: LeaseConfig = lease) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const store: MemoryKvStore = yield* makeMemoryKvStore("tokenbus-leases", { ttlMillis: config.ttlMillis })
    const events = yield* Ref.make<ReadonlyArray<LeadEvent>>([])
    const writes = yield* Ref.make<ReadonlyArray<Write>>([])

    const record = (holder: string, kind: LeadEvent["kind"], term?: number) =>
      Effect.flatMap(clock.currentTimeMillis, (at) =>
        Ref.update(events, (all) => [...all, { holder, kind, at, ...(term === undefined ? {} : { term }) }]))

    /** Starts a replica's campaign on its own view of the bucket; interrupting the fiber is its SIGTERM. */
    const start = (holder: string, options: StartOptions = {}): Effect.Effect<Campaigner, never, Scope.Scope> =>
      Effect.gen(function*() {
        const view = yield* store.view
        yield* (options.prepare ?? (() => Effect.void))(view)
        const guard = yield* Ref.make(Option.none<LeadershipGuard>())
        const lead = (g: LeadershipGuard, term: number) =>
          Effect.gen(function*() {
            yield* Ref.set(guard, Option.some(g))
            yield* record(holder, "lead", term)
            yield* Effect.addFinalizer(() => record(holder, "stop"))
            return yield* (options.lead === undefined ? Effect.never : options.lead(g, term))
          })
        const spec = { bucket: recordingWrites(view, holder, writes, clock), key, holder, lease: config }
        const running = Effect.scoped(campaign(spec, lead))
        const fiber = yield* Effect.forkScoped(
          options.clock === undefined ? running : Effect.provideService(running, Clock.Clock, options.clock)
        )
        // Runs before the fiber is interrupted: a partitioned or slow view would
        // hold up the campaign's release until a time TestClock never reaches.
        yield* Effect.addFinalizer(() => Effect.andThen(view.delayReplies(0), view.partition(false)))
        yield* settle
        return { holder, view, fiber, guard } satisfies Campaigner
      })

    const leaders = Effect.map(Ref.get(events), currentLeaders)
    const lockHolder = Effect.gen(function*() {
      const observer = yield* store.view
      const value = yield* observer.get(key)
      return Option.map(value, (v) => (JSON.parse(v.value) as { holder: string }).holder)
    })
    const writesOf = (holder: string) => Effect.map(Ref.get(writes), (all) => all.filter((w) => w.holder === holder))

    return { store, events, writes, writesOf, start, leaders, lockHolder }
  })

/**
 * A clock whose wall time (`currentTimeMillis`, `currentTimeNanos`) is
 * `base`'s plus an offset the test steps, as NTP or an operator would step a
 * host's clock, while its monotonic time and its sleeps are `base`'s. With
 * `readings: "all"` the monotonic time steps too, and only the sleeps keep
 * `base`'s: a process whose event loop stalled, to which a timer due during
 * the stall fires late. Step that one forwards only: monotonic time never
 * goes back.
 */
export const steppingClock = (base: Clock.Clock, readings: "wall" | "all" = "wall") => {
  let offsetMillis = 0
  const millis = () => base.currentTimeMillisUnsafe() + offsetMillis
  const nanos = () => base.currentTimeNanosUnsafe() + BigInt(offsetMillis) * 1_000_000n
  const monotonic = () =>
    base.monotonicTimeNanosUnsafe() + (readings === "all" ? BigInt(offsetMillis) * 1_000_000n : 0n)
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: millis,
    currentTimeMillis: Effect.sync(millis),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: monotonic,
    monotonicTimeNanos: Effect.sync(monotonic),
    sleep: (duration: Duration.Duration) => base.sleep(duration)
  }
  return {
    clock,
    step: (millis: number) =>
      Effect.sync(() => {
        offsetMillis += millis
      })
  }
}
