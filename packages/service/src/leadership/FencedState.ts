/**
 * A leader's hold on its provider's state in KV. Every write carries the
 * leader's fence and is a compare-and-set on the revision last seen. A
 * conflict means someone else wrote: reading again tells whether it was a
 * newer leader (this one is deposed) or, rarely, an operator (write again).
 * See ProviderState.ts in core for why this keeps deposed leaders out.
 *
 * A conflict whose read shows the key at or below the revision this leader
 * holds, or gone, is a stale read or a tokens bucket deleted and created
 * again (its revisions start over). Either way the leader writes the state
 * it holds against what the read shows: after a stale read that conflicts
 * again, harmlessly; in a new bucket it puts back the token with its
 * version, the carry, the budget and the breaker instead of losing them.
 */
import { checkFence, type Fence, type ProviderState, TokenUnavailable } from "@tokenbus/core"
import type { KvError } from "@tokenbus/nats"
import { Data, Deferred, Effect, Exit, Ref, Semaphore } from "effect"
import type { LeadershipGuard, LeadershipLost } from "./LeaderLock.ts"
import type { Snapshot, TokenStore } from "../store/TokenStore.ts"

/** A newer leader has fenced the provider: this one must stop. */
export class Deposed extends Data.TaggedError("Deposed")<{ readonly message: string }> {}

export type WriteError = Deposed | KvError | LeadershipLost | TokenUnavailable

export interface FencedState {
  readonly snapshot: Effect.Effect<Snapshot>
  /** Completes once `snapshot` would give something other than `seen`, a value it gave: a plan made from it is stale. */
  readonly changed: (seen: Snapshot) => Effect.Effect<void>
  /** Writes the state `next` computes from the latest snapshot; returns what was written. */
  readonly write: (next: (snapshot: Snapshot) => ProviderState) => Effect.Effect<Snapshot, WriteError>
  /** Reads KV again and keeps whichever is newer; deposes this leader if a newer fence is there. */
  readonly reload: Effect.Effect<void, Deposed | KvError>
  /** Completes once this leader is deposed. */
  readonly deposed: Effect.Effect<void>
  /** Marks the fence released (the provider moved away): the last write of this leader. */
  readonly release: Effect.Effect<void, WriteError>
}

export interface FencedStateOptions {
  readonly provider: string
  readonly store: TokenStore["Service"]
  readonly fence: Fence
  readonly guard: LeadershipGuard
  readonly initial: Snapshot
}

/** Conflicts tolerated in a row before a write gives up. */
const writeAttempts = 3

export const makeFencedState = Effect.fnUntraced(function*(options: FencedStateOptions) {
  const { fence, guard, provider, store } = options
  const current = yield* Ref.make(options.initial)
  const deposedSignal = yield* Deferred.make<void>()
  const writing = yield* Semaphore.make(1)
  // Completed and replaced whenever the state held changes, so a waiter costs nothing until then.
  let moved = Deferred.makeUnsafe<void>()

  /**
   * Sets the state held to what `next` makes of it, and wakes the waiters of `changed` if it differs. Not
   * interruptible between the two: a change nobody is woken for would leave a renewal planned from the old one.
   */
  const hold = (next: (held: Snapshot) => Snapshot) =>
    Effect.uninterruptible(Effect.flatMap(Ref.modify(current, (held) => {
      const updated = next(held)
      return [updated !== held, updated] as const
    }), (differs) =>
      differs
        ? Effect.sync(() => {
          const waiting = moved
          moved = Deferred.makeUnsafe<void>()
          Deferred.doneUnsafe(waiting, Exit.void)
        })
        : Effect.void))

  const depose = (newer: Fence | undefined) =>
    Effect.gen(function*() {
      const message = `a newer leader (${newer?.holder}, term ${newer?.term}) has fenced ${provider}; ` +
        `this one (term ${fence.term}) steps down`
      yield* Effect.logError(message)
      yield* Deferred.succeed(deposedSignal, undefined)
      return yield* new Deposed({ message })
    })

  const adopt = (latest: Snapshot) =>
    checkFence(latest.state, fence) === "deposed"
      ? depose(latest.state.fence)
      : hold((held) => ((latest.revision ?? 0) > (held.revision ?? 0) ? latest : held))

  /** After a conflict: a later revision is adopted; one at or below ours is written over with what we hold. */
  const afterConflict = (latest: Snapshot) =>
    checkFence(latest.state, fence) === "deposed"
      ? depose(latest.state.fence)
      : hold((held) =>
        (latest.revision ?? 0) > (held.revision ?? 0) ? latest : { ...held, revision: latest.revision })

  const write = (next: (snapshot: Snapshot) => ProviderState, written: Fence = fence) =>
    writing.withPermits(1)(Effect.gen(function*() {
      for (let attempt = 0; attempt < writeAttempts; attempt++) {
        yield* guard
        const held = yield* Ref.get(current)
        // The state it holds may already carry a newer fence: read when this leader took over late.
        if (checkFence(held.state, fence) === "deposed") return yield* depose(held.state.fence)
        const outcome = yield* store.write(provider, { ...next(held), fence: written }, held.revision).pipe(
          Effect.result
        )
        if (outcome._tag === "Success") {
          yield* hold(() => outcome.success)
          return outcome.success
        }
        if (outcome.failure._tag === "KvError") return yield* outcome.failure
        yield* afterConflict(yield* store.read(provider))
      }
      return yield* new TokenUnavailable({ provider, message: "the provider's state kept changing under this leader" })
    }))

  return {
    snapshot: Ref.get(current),
    changed: (seen) => Effect.suspend(() => (Ref.getUnsafe(current) === seen ? Deferred.await(moved) : Effect.void)),
    write,
    // Built when run: a replica holds one of these per provider it leads, and seldom reloads.
    reload: Effect.suspend(() => Effect.flatMap(store.read(provider), adopt)),
    deposed: Deferred.await(deposedSignal),
    release: Effect.asVoid(write((snapshot) => snapshot.state, { ...fence, released: true }))
  } satisfies FencedState
})
