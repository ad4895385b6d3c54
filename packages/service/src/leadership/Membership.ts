/**
 * The live members of the cluster as this replica sees them: a watch on the
 * member keys of the leases bucket (`members.<replicaId>`, each renewed by
 * its replica), turned into a sorted list that changes only when the set
 * does. Whom a member is taken for dead, and why that is safe, is
 * Membership.ts in core; this is its I/O.
 *
 * The watch is what makes failover fast, so it is checked: a replica that
 * has not seen its own renewals for a lease's length starts it again (a
 * bucket deleted and created again ends a watch without a word). Until it
 * sees itself again it expires nobody: nobody looks older than anybody else.
 */
import {
  emptyMemberView,
  expireMembers,
  type LeaseConfig,
  type MemberChange,
  memberKeyPrefix,
  memberNames,
  memberOfKey,
  membersChanged,
  membershipAgeCap,
  type MemberView,
  sameMembers
} from "@tokenbus/core"
import type { KvBucket, KvEntryChange } from "@tokenbus/nats"
import { Effect, Option, Ref, Schema, type Scope, Stream, SubscriptionRef } from "effect"
import { monotonicMillis } from "./internal/monotonicMillis.ts"

export interface Members {
  /** The live members, sorted; a new list whenever the set changes. */
  readonly live: SubscriptionRef.SubscriptionRef<ReadonlyArray<string>>
  /** Whether `member` is live now: a leader it is handing over from is still at work. */
  readonly isLive: (member: string) => Effect.Effect<boolean>
}

export interface MembersOptions {
  readonly bucket: KvBucket
  /** This replica's id. */
  readonly self: string
  readonly lease: LeaseConfig
}

const MemberValue = Schema.fromJsonString(Schema.Struct({ instance: Schema.optionalKey(Schema.String) }))
const decodeValue = Schema.decodeUnknownOption(MemberValue)

/** The most changes of a watch's first replay applied as one batch. */
const maxBatch = 256

/** A watch's first replay, gathered until it ends; then every change goes through on its own. */
interface Replay {
  replaying: boolean
  readonly batch: Array<MemberChange>
}

const instanceOf = (value: string): string =>
  Option.match(decodeValue(value), { onNone: () => "", onSome: (member) => member.instance ?? "" })

/** Follows the member keys of `bucket` until the scope closes. */
export const watchMembers = (options: MembersOptions): Effect.Effect<Members, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { bucket, lease, self } = options
    const view = yield* Ref.make<MemberView>(emptyMemberView)
    const live = yield* SubscriptionRef.make<ReadonlyArray<string>>([])

    const publish = Effect.gen(function*() {
      const current = yield* Ref.updateAndGet(view, (held) => expireMembers(held, lease.ttlMillis))
      const names = memberNames(current)
      if (!sameMembers(names, yield* SubscriptionRef.get(live))) yield* SubscriptionRef.set(live, names)
    })

    // A new watch first replays each member's last renewal: that replay is applied at once when it ends (the
    // change with nothing pending after it), each renewal dated by the server's clock (core's
    // membersChanged); bounded, so a long replay still moves on. Every later change is applied as it comes:
    // holding live changes until the watch has caught up would delay them under load by as long as it lags.
    const apply = (replay: Replay, change: KvEntryChange) =>
      Effect.gen(function*() {
        const member = memberOfKey(change.key)
        if (member !== undefined) {
          const { operation, value, writtenAt } = change
          replay.batch.push({ member, operation, instance: operation === "PUT" ? instanceOf(value) : "", writtenAt })
        }
        if (replay.replaying && change.pending > 0 && replay.batch.length < maxBatch) return
        if (change.pending === 0) replay.replaying = false
        if (replay.batch.length === 0) return
        const changes = replay.batch.splice(0)
        const now = yield* monotonicMillis
        yield* Ref.update(view, (held) => membersChanged(held, changes, now, membershipAgeCap(lease)))
        yield* publish
      })

    /** Ends when this replica's own renewals have not been seen for a lease's length; a new watch gets one first. */
    const watchdog = Effect.gen(function*() {
      yield* Effect.sleep(lease.ttlMillis)
      while (true) {
        yield* Effect.sleep(lease.renewEveryMillis)
        // Its own key missing counts too: a watch still on a bucket that was deleted and made again never
        // shows the key the replica wrote into the new one.
        const seen = (yield* Ref.get(view)).get(self)
        if (seen === undefined || (yield* monotonicMillis) - seen.seenAt >= lease.ttlMillis) return
      }
    })

    const follow = Effect.suspend(() => {
      const replay: Replay = { replaying: true, batch: [] }
      return bucket.watchAll(`${memberKeyPrefix}>`).pipe(Stream.runForEach((change) => apply(replay, change)))
    }).pipe(
      Effect.catch((error) => Effect.logWarning("member watch failed").pipe(Effect.annotateLogs({ error: error.message })))
    )
    // A stopped watch expires nobody (expireMembers): a new one takes over the view as it stands, every
    // sighting counted from now. A new watch replays each member's last renewal only, in stream order, so
    // without that a member whose last renewal comes later in the replay would look a lease older than the
    // one replayed before it, and be taken for dead, while it renews.
    const restartSightings = Effect.flatMap(monotonicMillis, (now) =>
      Ref.update(view, (held) => new Map([...held].map(([member, seen]) => [member, { ...seen, seenAt: now }]))))
    yield* Effect.andThen(restartSightings, Effect.raceFirst(follow, watchdog)).pipe(
      Effect.andThen(Effect.logWarning("the member watch fell behind or stopped; watching again")),
      Effect.andThen(Effect.sleep(Math.min(250, lease.renewEveryMillis))),
      Effect.forever,
      Effect.forkScoped
    )

    return {
      live,
      isLive: (member) =>
        Effect.map(SubscriptionRef.get(live), (members) => members.includes(member))
    }
  })
