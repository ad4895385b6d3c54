/**
 * Leader election for one provider over a JetStream KV lock. A replica takes
 * the lock with `create` (only one can), keeps it with `update` against the
 * revision it holds, and the bucket's TTL lets a dead leader's lock lapse.
 *
 * Leadership is decided only from our own successful compare-and-set, never
 * from a read. While leading, `lead` runs; it is interrupted as soon as a
 * renewal is refused, or before the lease can have lapsed when renewals stop
 * getting through (see Lease.ts in core). On interruption (SIGTERM) the lock
 * is deleted so another replica takes over at once instead of waiting out
 * the TTL: followers watch the key and try again when it is deleted.
 */
import { type Lease, type LeaseConfig, renewDueAt, validUntil } from "@tokenbus/core"
import type { KvBucket } from "@tokenbus/nats"
import { Clock, Data, Effect, Exit, Option, Queue, Ref, Scope, Stream } from "effect"

export class LeadershipLost extends Data.TaggedError("LeadershipLost")<{
  readonly key: string
  readonly message: string
}> {}

export interface LockSpec {
  readonly bucket: KvBucket
  readonly key: string
  /** Who holds the lock: the replica id, shown to operators reading the bucket. */
  readonly holder: string
  readonly lease: LeaseConfig
}

/** Succeeds while the lease is certainly still ours; checked before every commit. */
export type LeadershipGuard = Effect.Effect<void, LeadershipLost>

/**
 * What a leader runs while it holds the lock. `term` is the lock's revision
 * when it was taken: it only grows from one leader to the next, which makes it
 * a fencing token. `lead` returning means it steps down of its own accord
 * (it found a newer leader's fence).
 */
export type Lead<R> = (guard: LeadershipGuard, term: number) => Effect.Effect<void, never, Scope.Scope | R>

/** Campaigns for the lock forever, running `lead` whenever this replica holds it. */
export const campaign = <R>(
  spec: LockSpec,
  lead: Lead<R>
): Effect.Effect<never, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const released = yield* watchReleases(spec)
    const retryMillis = Math.max(100, Math.floor(spec.lease.renewEveryMillis / 2))
    while (true) {
      const lease = yield* tryAcquire(spec)
      if (Option.isSome(lease)) yield* holdLeadership(spec, lease.value, lead)
      yield* Effect.raceFirst(Effect.sleep(retryMillis), Queue.take(released))
    }
  })

const holderValue = (spec: LockSpec) => JSON.stringify({ holder: spec.holder })

const tryAcquire = (spec: LockSpec) =>
  Effect.gen(function*() {
    const sentAt = yield* Clock.currentTimeMillis
    return yield* spec.bucket.create(spec.key, holderValue(spec)).pipe(
      Effect.map((revision): Option.Option<Lease> => Option.some({ revision, sentAt })),
      Effect.catchTag("KvConflict", () => Effect.succeedNone),
      Effect.catchTag("KvError", (error) =>
        Effect.logWarning("cannot reach the lease bucket").pipe(
          Effect.annotateLogs({ error: error.message }),
          Effect.as(Option.none<Lease>())
        ))
    )
  })

/** A queue that receives a signal whenever the lock key is deleted or purged. */
const watchReleases = (spec: LockSpec) =>
  Effect.gen(function*() {
    const released = yield* Queue.sliding<void>(1)
    yield* spec.bucket.watch(spec.key).pipe(
      Stream.filter((change) => change.operation !== "PUT"),
      Stream.runForEach(() => Queue.offer(released, undefined)),
      Effect.catch((error) =>
        Effect.logWarning("lease watch stopped; relying on polling").pipe(Effect.annotateLogs({ error: error.message }))
      ),
      Effect.forkScoped
    )
    return released
  })

const holdLeadership = <R>(
  spec: LockSpec,
  first: Lease,
  lead: Lead<R>
) =>
  Effect.gen(function*() {
    const held = yield* Ref.make(first)
    // On shutdown the lock is released while the leader's own scope closes,
    // not after: a follower takes over while this one winds down (its writes
    // are fenced out by then) instead of waiting for a slow shutdown. When
    // the lease is lost, the leader's scope closes at once (below).
    const leading = yield* Scope.make()
    yield* Effect.addFinalizer((exit) =>
      Effect.all([release(spec, held), Scope.close(leading, exit)], { concurrency: "unbounded", discard: true })
    )
    const guard: LeadershipGuard = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (now >= validUntil(spec.lease, yield* Ref.get(held))) {
        return yield* new LeadershipLost({ key: spec.key, message: `lease on ${spec.key} may have lapsed` })
      }
    })
    // The lock was taken, but if the reply came back after the lease could
    // have lapsed, someone else may lead already: release it without leading.
    if ((yield* Effect.result(guard))._tag === "Failure") {
      return yield* Effect.logWarning("took the lock too late to lead; releasing it")
    }
    yield* Effect.logInfo("became leader").pipe(Effect.annotateLogs({ revision: first.revision }))
    const reason = yield* Effect.raceFirst(
      lead(guard, first.revision).pipe(Scope.provide(leading), Effect.as("a newer leader has fenced the provider")),
      keepRenewing(spec, held)
    )
    yield* Scope.close(leading, Exit.void)
    yield* Effect.logWarning("stepped down").pipe(Effect.annotateLogs({ reason }))
  }).pipe(Effect.scoped)

/**
 * Renews until the lease is lost; returns why. Every wait, including a
 * renewal that hangs, ends by the lease's deadline, so `lead` is interrupted
 * no later than the moment the lease may lapse.
 */
const keepRenewing = (spec: LockSpec, held: Ref.Ref<Lease>) =>
  Effect.gen(function*() {
    const retryMillis = Math.min(250, spec.lease.renewEveryMillis)
    let attemptAt = renewDueAt(spec.lease, yield* Ref.get(held))
    while (true) {
      const lease = yield* Ref.get(held)
      const deadline = validUntil(spec.lease, lease)
      yield* Effect.sleep(Math.max(0, Math.min(attemptAt, deadline) - (yield* Clock.currentTimeMillis)))
      const sentAt = yield* Clock.currentTimeMillis
      if (sentAt >= deadline) return "the lease ran out before a renewal got through"
      const renewed = yield* spec.bucket.update(spec.key, holderValue(spec), lease.revision).pipe(
        Effect.timeoutOrElse({ duration: deadline - sentAt, orElse: () => Effect.succeed(undefined) }),
        Effect.result
      )
      if (renewed._tag === "Failure" && renewed.failure._tag === "KvConflict") return "another replica holds the lock"
      if (renewed._tag === "Success" && renewed.success !== undefined) {
        const next = { revision: renewed.success, sentAt }
        yield* Ref.set(held, next)
        attemptAt = renewDueAt(spec.lease, next)
      } else {
        attemptAt = (yield* Clock.currentTimeMillis) + retryMillis
      }
    }
  })

/**
 * Deletes the lock if it is still at the revision we last wrote, so a
 * follower takes over without waiting for the TTL. A conflict means someone
 * else holds it already, which is fine.
 */
const release = (spec: LockSpec, held: Ref.Ref<Lease>) =>
  Ref.get(held).pipe(
    Effect.flatMap((lease) => spec.bucket.deleteAt(spec.key, lease.revision)),
    Effect.andThen(Effect.logInfo("released the lock")),
    Effect.timeout(2000),
    Effect.ignore
  )
