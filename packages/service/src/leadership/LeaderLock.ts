/**
 * A lease held over a JetStream KV lock. A replica takes the lock with
 * `create` (only one can), keeps it with `update` against the revision it
 * holds, and the bucket's TTL lets a dead holder's lock lapse. Each replica
 * holds one: its member key (`join`), while it is a live member of the
 * cluster; which providers a member leads is Assignment.ts.
 *
 * Leadership is decided only from our own compare-and-sets. One whose reply
 * was lost (normal while NATS changes a stream's leader) is not a lost lock:
 * on a conflict, or a write that got no answer, the replica reads the key,
 * and a value only this process instance writes proves which of its writes
 * landed; it takes that revision as its own, the lease counted from when that
 * write was sent (internal/LockWrites.ts). While leading, `lead` runs; it is
 * interrupted as soon as a renewal is refused, or before the lease can have
 * lapsed when renewals stop getting through (see Lease.ts in core). Every
 * deadline is on the monotonic clock, so a step of the wall clock neither
 * ends a lease nor stretches one. On interruption (SIGTERM) the lock is
 * deleted so another replica takes over at once instead of waiting out the
 * TTL: followers watch the key and try again when it is deleted.
 *
 * A term is the lock's revision within the leases bucket's generation
 * (`termOf` in core), so terms keep growing when that bucket is deleted and
 * created again and its revisions start over.
 */
import { type Lease, type LeaseConfig, memberKey, renewDueAt, termOf, validUntil } from "@tokenbus/core"
import { type KvBucket, type KvError, NatsConnection } from "@tokenbus/nats"
import { Context, Data, Effect, Exit, Layer, Option, Queue, Ref, Scope, Stream } from "effect"
import { ReplicaContext } from "../replica/ReplicaContext.ts"
import { type LockWrites, makeLockWrites } from "./internal/LockWrites.ts"
import { makeRenewalRequests, type RenewalRequests } from "./internal/RenewalRequests.ts"
import { monotonicMillis } from "./internal/monotonicMillis.ts"
import { type Members, watchMembers } from "./Membership.ts"

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
  /** What the log says when this lock is taken and given up: "became leader" and "stepped down" by default. */
  readonly messages?: { readonly taken: string; readonly given: string }
}

const defaultMessages = { taken: "became leader", given: "stepped down" }
const memberMessages = { taken: "joined the cluster", given: "left the cluster" }

/** Succeeds while the lease is certainly still ours; checked before every commit. */
export type LeadershipGuard = Effect.Effect<void, LeadershipLost>

/**
 * What a leader runs while it holds the lock. `term` is the lock's revision
 * when it was taken, within the leases bucket's generation (`termOf`): it
 * only grows from one leader to the next, which makes it a fencing token.
 * `lead` returning means it steps down of its own accord (it found a newer
 * leader's fence).
 */
export type Lead<R> = (guard: LeadershipGuard, term: number, held: HeldLock) => Effect.Effect<void, never, Scope.Scope | R>

/** What a holder can ask of its lock while it leads. */
export interface HeldLock {
  /**
   * Renews the lock now (or joins a renewal sent after this call) and gives
   * the term of the revision it wrote: a term no lock write before this call
   * can match or exceed, for a holder that starts leading something new.
   */
  readonly freshTerm: Effect.Effect<number>
}

export class LeaderLock extends Context.Service<LeaderLock, {
  /** Campaigns for the lock `key` forever, running `lead` whenever this replica holds it. */
  readonly campaign: <R>(key: string, lead: Lead<R>) => Effect.Effect<never, never, Scope.Scope | R>
  /** Holds this replica's member key (`members.<holder>`) forever, running `lead` while it is a live member. */
  readonly join: <R>(lead: Lead<R>) => Effect.Effect<never, never, Scope.Scope | R>
  /** The live members as this replica sees them, followed until the scope closes. */
  readonly members: Effect.Effect<Members, never, Scope.Scope>
}>()("@tokenbus/service/LeaderLock") {
  /** Locks in `bucket`, held as `holder`. */
  static readonly make = (bucket: KvBucket, holder: string, lease: LeaseConfig): LeaderLock["Service"] => ({
    campaign: (key, lead) => campaign({ bucket, key, holder, lease }, lead),
    join: (lead) => campaign({ bucket, key: memberKey(holder), holder, lease, messages: memberMessages }, lead),
    members: watchMembers({ bucket, self: holder, lease })
  })

  /** Locks in the replica's leases bucket, whose TTL is the lease length. */
  static readonly layer: Layer.Layer<LeaderLock, KvError, NatsConnection | ReplicaContext> = Layer.effect(
    LeaderLock,
    Effect.gen(function*() {
      const nats = yield* NatsConnection
      const { config, replicaId, subjects } = yield* ReplicaContext
      const bucket = yield* nats.bucket(subjects.leaseBucket, {
        ttlMillis: config.lease.ttlMillis,
        replicas: config.nats.replicas,
        settingNames: { ttlMillis: "lease.ttlMillis", replicas: "nats.replicas" }
      })
      return LeaderLock.make(bucket, replicaId, config.lease)
    })
  )
}

/** Campaigns for the lock forever, running `lead` whenever this replica holds it. */
export const campaign = <R>(
  spec: LockSpec,
  lead: Lead<R>
): Effect.Effect<never, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const writes = yield* makeLockWrites(spec)
    const generation = yield* Ref.make(0)
    const released = yield* watchReleases(spec)
    const retryMillis = Math.max(100, Math.floor(spec.lease.renewEveryMillis / 2))
    while (true) {
      const lease = yield* tryAcquire(spec, writes)
      if (Option.isSome(lease)) {
        yield* holdLeadership({ spec, writes, generation }, lease.value, lead)
        // Its own release would wake it at once: a replica that stepped down lets a round pass first, so a
        // leader that cannot work (its state unreachable) does not churn through elections.
        yield* Effect.sleep(retryMillis)
        yield* Queue.clear(released)
      }
      yield* Effect.raceFirst(Effect.sleep(retryMillis), Queue.take(released))
    }
  })

/** How long one write or read of the lock may go unanswered before it is given up on (and maybe retried). */
const attemptMillis = (spec: LockSpec) => spec.lease.renewEveryMillis

const tryAcquire = (spec: LockSpec, writes: LockWrites) =>
  Effect.gen(function*() {
    const outcome = yield* writes.create(attemptMillis(spec))
    if (outcome._tag === "Written") return Option.some(outcome.lease)
    if (outcome._tag === "Unknown") {
      yield* Effect.logWarning("cannot reach the lease bucket").pipe(Effect.annotateLogs({ error: outcome.message }))
    }
    // A conflict hides a lock of ours only if one of our writes went unanswered.
    if (outcome._tag === "Conflict" && !(yield* writes.unsure)) return Option.none<Lease>()
    const found = yield* writes.find(attemptMillis(spec))
    if (found._tag === "Adopted") {
      yield* Effect.logInfo("the lock is ours: a write whose reply was lost took it")
      return Option.some(found.lease)
    }
    // Ours, but too old to lead on: deleted, so nobody waits out its TTL.
    if (found._tag === "Stale") yield* writes.deleteAt(found.revision).pipe(Effect.timeout(2000), Effect.ignore)
    return Option.none<Lease>()
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

interface Campaign {
  readonly spec: LockSpec
  readonly writes: LockWrites
  /** The leases bucket's creation time last read: the generation of the terms taken in it. */
  readonly generation: Ref.Ref<number>
}

/**
 * The term of a lock taken at `revision`, in the bucket's generation as read
 * now. If that cannot be read, the last one known: a term too low only makes
 * this leader step down at the first newer fence it finds, never overwrite it.
 */
const termAt = ({ generation, spec }: Campaign, revision: number) =>
  spec.bucket.created.pipe(
    Effect.timeoutOption(attemptMillis(spec)),
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(`no reply within ${attemptMillis(spec)} ms`),
      onSome: (created) => Effect.as(Ref.set(generation, created), created)
    })),
    Effect.catch((error) =>
      Effect.logWarning("cannot read when the lease bucket was created; using the last generation known").pipe(
        Effect.annotateLogs({ error: typeof error === "string" ? error : error.message }),
        Effect.andThen(Ref.get(generation))
      )
    ),
    Effect.map((created) => termOf(created, revision))
  )

const holdLeadership = <R>(campaign: Campaign, first: Lease, lead: Lead<R>) =>
  Effect.gen(function*() {
    const { spec, writes } = campaign
    const held = yield* Ref.make(first)
    // On shutdown the lock is released while the leader's own scope closes,
    // not after: a follower takes over while this one winds down (its writes
    // are fenced out by then) instead of waiting for a slow shutdown. When
    // the lease is lost, the leader's scope closes at once (below).
    const leading = yield* Scope.make()
    yield* Effect.addFinalizer((exit) =>
      Effect.all([release(writes, held), Scope.close(leading, exit)], { concurrency: "unbounded", discard: true })
    )
    const term = yield* termAt(campaign, first.revision)
    const guard: LeadershipGuard = Effect.gen(function*() {
      if ((yield* monotonicMillis) >= validUntil(spec.lease, yield* Ref.get(held))) {
        return yield* new LeadershipLost({ key: spec.key, message: `lease on ${spec.key} may have lapsed` })
      }
    })
    // The lock was taken, but if the reply came back after the lease could
    // have lapsed, someone else may lead already: release it without leading.
    if ((yield* Effect.result(guard))._tag === "Failure") {
      return yield* Effect.logWarning("took the lock too late to lead; releasing it")
    }
    const messages = spec.messages ?? defaultMessages
    yield* Effect.logInfo(messages.taken).pipe(Effect.annotateLogs({ revision: first.revision, term }))
    const renewals = yield* makeRenewalRequests((revision) => termAt(campaign, revision))
    const reason = yield* Effect.raceFirst(
      lead(guard, term, { freshTerm: renewals.freshTerm }).pipe(
        Scope.provide(leading),
        Effect.as("it stopped leading (the line before says why)")
      ),
      keepRenewing(spec, writes, held, renewals)
    )
    yield* Scope.close(leading, Exit.void)
    yield* Effect.logWarning(messages.given).pipe(Effect.annotateLogs({ reason, term }))
  }).pipe(Effect.scoped)

/**
 * Renews until the lease is lost; returns why. Every wait, including a
 * renewal that hangs, ends by the lease's deadline, so `lead` is interrupted
 * no later than the moment the lease may lapse.
 */
const keepRenewing = (spec: LockSpec, writes: LockWrites, held: Ref.Ref<Lease>, renewals: RenewalRequests) =>
  Effect.gen(function*() {
    const retryMillis = Math.min(250, spec.lease.renewEveryMillis)
    let attemptAt = renewDueAt(spec.lease, yield* Ref.get(held))
    let retrying = false
    while (true) {
      const lease = yield* Ref.get(held)
      const deadline = validUntil(spec.lease, lease)
      const wait = Math.max(0, Math.min(attemptAt, deadline) - (yield* monotonicMillis))
      // A holder waiting for a fresh term gets a renewal at once, unless the last one failed: that waits its retry.
      if (retrying || !(yield* renewals.pending)) {
        yield* Effect.raceFirst(Effect.sleep(wait), retrying ? Effect.never : renewals.asked)
      }
      const sentAt = yield* monotonicMillis
      if (sentAt >= deadline) return "the lease ran out before a renewal got through"
      const left = Effect.map(monotonicMillis, (now) => Math.max(0, Math.min(attemptMillis(spec), deadline - now)))
      const outcome = yield* writes.update(lease.revision, yield* left)
      let renewed = outcome._tag === "Written" ? outcome.lease : undefined
      if (outcome._tag === "Conflict") {
        // Refused: someone else's lock, unless an unanswered write of ours moved it on.
        if (!(yield* writes.unsure)) return "another replica holds the lock"
        const found = yield* writes.find(yield* left)
        if (found._tag === "NotOurs") return "another replica holds the lock"
        if (found._tag === "Stale") return "the lock holds a write of ours too old to lead on"
        if (found._tag === "Adopted") renewed = found.lease
      }
      if (renewed !== undefined) {
        yield* Ref.set(held, renewed)
        yield* renewals.answer(renewed)
        attemptAt = renewDueAt(spec.lease, renewed)
        retrying = false
      } else {
        // Spaced from the send, not from the failure: an attempt that timed out is retried at once. One whose
        // timeout fired late, as the event loop resumed from a stall with the reply still unread, may have
        // little of the lease left, and its retry is what finds the write landed (a conflict, then our value).
        attemptAt = sentAt + retryMillis
        retrying = true
      }
    }
  })

/**
 * Deletes the lock if it is still ours, so a follower takes over without
 * waiting for the TTL: at the revision we hold, or, if a write of ours landed
 * unanswered and moved it on, at the one a read shows holding our value. A
 * lock that is not ours is left alone: someone else holds it already.
 */
const release = (writes: LockWrites, held: Ref.Ref<Lease>) =>
  Effect.gen(function*() {
    const lease = yield* Ref.get(held)
    const deleted = yield* writes.deleteAt(lease.revision).pipe(
      Effect.as(true),
      Effect.catchTag("KvConflict", () =>
        Effect.flatMap(writes.find(1000), (found) => {
          const ours = found._tag === "Adopted"
            ? found.lease.revision
            : found._tag === "Stale"
            ? found.revision
            : undefined
          return ours === undefined ? Effect.succeed(false) : Effect.as(writes.deleteAt(ours), true)
        }))
    )
    if (deleted) yield* Effect.logInfo("released the lock")
  }).pipe(Effect.timeout(2000), Effect.ignore)
