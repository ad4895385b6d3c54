/**
 * Which providers this replica leads, kept in step with the live members:
 * each provider goes to the member rendezvous hashing picks (Rendezvous.ts in
 * core), so every member that sees the same members agrees, and a member
 * joining or leaving moves only its own share. The assignment runs while this
 * replica holds its member lease; losing that lease ends every leadership it
 * holds at once (the lease's deadline bounds them all, as Lease.ts says).
 *
 * Taking a provider over:
 * - from a member that is gone (its lease lapsed or it left): at once;
 * - from a member still live (a member joined and the provider moved): once
 *   that leader, which sees the same change, has let go (after half of
 *   `handoverMillis` and its mint under way, if any, it writes its fence
 *   released), or the moment it is seen gone, or after `handoverMillis`
 *   (ten times that while a call of its that spends a refresh token is in
 *   doubt): so a mint is not cut off between the upstream's answer and its
 *   commit;
 * - when members have just joined and nobody leads it (a cluster starting):
 *   after `settleMillis`, so replicas starting together do not each take
 *   every provider first; not when its owner just left, though a member
 *   joined in the same change.
 *
 * None of this is what keeps two leaders from committing: views may differ
 * for a moment, and each leader of a provider takes a fresh term from a write
 * of its member lease, so the fence in the provider's state (ProviderState.ts
 * in core) deposes whichever is older.
 */
import { type Fence, ownedBy, rendezvousOwner, sameMembers } from "@tokenbus/core"
import { Clock, Deferred, Effect, FiberMap, type Scope, Stream, SubscriptionRef } from "effect"
import type { ConfiguredProvider } from "../config/ConfiguredProvider.ts"
import type { Snapshot } from "../store/TokenStore.ts"
import { makeFifoLimit } from "./internal/FifoLimit.ts"
import type { HeldLock, LeadershipGuard } from "./LeaderLock.ts"
import { monotonicMillis } from "./internal/monotonicMillis.ts"
import type { Members } from "./Membership.ts"

/**
 * What one provider's leader runs with the member lease's guard and a fresh
 * term: until it is deposed, or `retire` completes and it has finished what
 * it was doing.
 */
export type LeadProvider = (
  provider: ConfiguredProvider,
  guard: LeadershipGuard,
  term: number,
  retire: Deferred.Deferred<void>,
  /** The provider's state as last read while waiting for the previous leader: the takeover starts from it. */
  read: Snapshot | undefined
) => Effect.Effect<void, never, Scope.Scope>

export interface AssignmentOptions {
  readonly self: string
  readonly members: Members
  readonly providers: SubscriptionRef.SubscriptionRef<ReadonlyArray<ConfiguredProvider>>
  readonly guard: LeadershipGuard
  readonly held: HeldLock
  readonly lead: LeadProvider
  /**
   * The provider's state, for its last fence and call in doubt: the leader it is taken over from, whether it
   * let go, and whether it may be spending the carry. Undefined when it cannot be read in time.
   */
  readonly holderOf: (provider: string) => Effect.Effect<Snapshot | undefined>
  readonly handoverMillis: number
  readonly settleMillis: number
  /** How long after a leadership ended by itself (deposed, state unreadable) it is tried again. */
  readonly retryMillis: number
}

/** A provider this replica leads: the configuration its fiber runs, and the signal that it moved away. */
interface Led {
  readonly configured: ConfiguredProvider
  readonly retire: Deferred.Deferred<void>
}

/** Leads this replica's share of the providers until the scope closes. */
export const runAssignment = (options: AssignmentOptions): Effect.Effect<never, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string>()
    const retiring = yield* FiberMap.make<string>()
    const led = new Map<string, Led>()
    let lastMembers: ReadonlyArray<string> = []
    // One read of the previous holder per takeover: bounded, as a start hands a replica thousands at once.
    const reads = yield* makeFifoLimit(32)
    const bounded = { ...options, holderOf: (provider: string) => reads.withPermit(options.holderOf(provider)) }

    const start = (configured: ConfiguredProvider, settleMillis: number) =>
      Effect.gen(function*() {
        const entry = { configured, retire: yield* Deferred.make<void>() }
        led.set(configured.id, entry)
        yield* FiberMap.run(fibers, configured.id, leadWhileOwned(bounded, entry, settleMillis))
      })

    const stop = (id: string) => Effect.suspend(() => {
      led.delete(id)
      return Effect.andThen(FiberMap.remove(retiring, id), FiberMap.remove(fibers, id))
    })

    // A provider that moved to another member is led here for half the handover time more, so the new
    // leader, which waits the whole of it, starts after this one stopped and not before.
    const retire = (id: string, entry: Led) =>
      FiberMap.run(
        retiring,
        id,
        Effect.sleep(options.handoverMillis / 2).pipe(
          Effect.andThen(Effect.sync(() => led.delete(id))),
          Effect.andThen(Deferred.succeed(entry.retire, undefined))
        ),
        { onlyIfMissing: true }
      )

    const apply = (members: ReadonlyArray<string>, providers: ReadonlyArray<ConfiguredProvider>) =>
      Effect.gen(function*() {
        const previous = lastMembers
        const joined = members.some((member) => !previous.includes(member))
        lastMembers = members
        // Settling is for a cluster starting, where nobody led the provider: one whose owner just left is
        // taken at once, even when a member joined in the same change (chaos seed 3237547717: a leader's
        // replacement joined as it was seen gone, and its providers waited a settle more, 4 s unled).
        const settleOf = (id: string) => joined && !ownerLeft(id, previous, members) ? options.settleMillis : 0
        const byId = new Map(providers.map((provider) => [provider.id, provider]))
        const owned = new Set(ownedBy(options.self, byId.keys(), members))
        for (const [id, entry] of [...led]) {
          if (byId.get(id) !== entry.configured) yield* stop(id)
          else if (!owned.has(id)) yield* retire(id, entry)
        }
        for (const id of owned) {
          yield* FiberMap.remove(retiring, id)
          if (led.has(id) && (yield* FiberMap.has(fibers, id))) continue
          yield* start(byId.get(id)!, settleOf(id))
        }
      })

    const members = SubscriptionRef.changes(options.members.live).pipe(Stream.changesWith(sameMembers))
    const providers = SubscriptionRef.changes(options.providers)
    return yield* Stream.zipLatest(members, providers).pipe(
      Stream.runForEach(([m, p]) => apply(m, p)),
      Effect.andThen(Effect.never)
    )
  })

/** Whether the member that owned `provider` among `before` is not among `after`. */
const ownerLeft = (provider: string, before: ReadonlyArray<string>, after: ReadonlyArray<string>) => {
  const owner = rendezvousOwner(provider, before)
  return owner !== undefined && !after.includes(owner)
}

/** Leads the provider until it retires: again after `retryMillis` whenever a leadership ends by itself. */
const leadWhileOwned = (options: AssignmentOptions, entry: Led, settleMillis: number) =>
  Effect.gen(function*() {
    const { configured, retire } = entry
    // Settling is for a provider nobody leads: one a live member leads is handed over from (below), and
    // settling first only left it without a leader for the settle time after that member let go (a rolling
    // restart's newcomer, whose owner was the leader being stopped). The settle counts from the join: a
    // cluster's start queues thousands of these reads, and their wait is not added to every first token.
    const joinedAt = yield* monotonicMillis
    let known = settleMillis > 0 ? yield* leaderRead(options, configured) : undefined
    const readMillis = (yield* monotonicMillis) - joinedAt
    let delay = known === undefined ? Math.max(0, settleMillis - readMillis) : 0
    while (!(yield* Deferred.isDone(retire))) {
      yield* Effect.sleep(delay)
      // After settling: a member that took the provider meanwhile is handed over from, not raced.
      const read = yield* handedOver(options, configured, known)
      known = undefined
      // It moved away while this one waited: taking it now would depose the member it went to.
      if (yield* Deferred.isDone(retire)) return
      const term = yield* options.held.freshTerm
      yield* options.guard.pipe(
        Effect.andThen(Effect.logInfo("became leader").pipe(Effect.annotateLogs({ revision: term, term }))),
        Effect.andThen(Effect.scoped(options.lead(configured, options.guard, term, retire, read))),
        Effect.andThen(Effect.suspend(() => steppedDown(term, retire))),
        Effect.onInterrupt(() =>
          Effect.logInfo("stepped down").pipe(
            Effect.annotateLogs({ term, reason: "this replica stopped leading, or the provider's configuration changed" })
          )
        ),
        Effect.ignore
      )
      delay = options.retryMillis
    }
  }).pipe(Effect.annotateLogs({ provider: entry.configured.id }))

/**
 * Waits until the provider's last leader has let go, and returns the
 * provider's state as it last read it (the takeover starts from that read
 * rather than read again): it released its fence
 * (its mint under way ended), or it is no longer a live member, or
 * `handoverMillis` have passed (a leader of an older version, or one whose
 * lease lapsed before it could release: the fence keeps it from committing
 * anyway). While the state records a call of that leader's in doubt (one
 * that spends a carry, a refresh token, is recorded before it is made), it
 * waits up to ten times as long: a mint cut off between the upstream's
 * answer and its commit would lose the rotated refresh token, which the next
 * leader must not replay. With no call in doubt there is nothing to cut off:
 * a leader that lost its lease and joined again, live but leading nothing,
 * kept a provider without a leader for ten handovers (chaos seed 1592716835).
 */
const handedOver = (options: AssignmentOptions, configured: ConfiguredProvider, first?: Snapshot) =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    let known = first
    while (true) {
      const read = known ?? (yield* options.holderOf(configured.id))
      known = undefined
      const fence = yield* leaderIn(options, read)
      if (fence === undefined) return read
      const waited = (yield* Clock.currentTimeMillis) - startedAt
      const spending = read?.state.unconfirmed?.holder === fence.holder
      if (waited >= options.handoverMillis && !spending) return read
      if (waited >= options.handoverMillis * 10) {
        return yield* Effect.logWarning("took the provider over from a leader that did not hand it over").pipe(
          Effect.annotateLogs({ previous: fence.holder }),
          Effect.as(read)
        )
      }
      yield* Effect.raceFirst(Effect.sleep(options.handoverMillis / 4), leaves(options.members, fence.holder))
    }
  })

/** The fence in `read` if another live member holds it and has not released it: a leader to hand over from. */
const leaderIn = (options: AssignmentOptions, read: Snapshot | undefined): Effect.Effect<Fence | undefined> => {
  const fence = read?.state.fence
  return fence === undefined || fence.holder === options.self || fence.released === true
    ? Effect.succeed(undefined)
    : Effect.map(options.members.isLive(fence.holder), (live) => (live ? fence : undefined))
}

/** The provider's state if another live member leads it; undefined if nobody does (or it cannot be read). */
const leaderRead = (options: AssignmentOptions, configured: ConfiguredProvider) =>
  Effect.flatMap(options.holderOf(configured.id), (read) =>
    Effect.map(leaderIn(options, read), (fence) => (fence === undefined ? undefined : read)))

/**
 * Completes when `member` is no longer among the live members: a provider waiting for a dead member to hand
 * it over (seen live by a replica that just joined) is taken the moment it is seen gone, not at the next look.
 */
const leaves = (members: Members, member: string) =>
  SubscriptionRef.changes(members.live).pipe(
    Stream.filter((live) => !live.includes(member)),
    Stream.take(1),
    Stream.runDrain
  )

/** Why a leadership ended that was not interrupted: the provider moved away, or the leader said why it stopped. */
const steppedDown = (term: number, retire: Deferred.Deferred<void>) =>
  Deferred.isDoneUnsafe(retire)
    ? Effect.logInfo("stepped down").pipe(Effect.annotateLogs({ term, reason: "the provider moved to another member" }))
    : Effect.logWarning("stepped down").pipe(
      Effect.annotateLogs({ term, reason: "it stopped leading (the line before says why)" })
    )
