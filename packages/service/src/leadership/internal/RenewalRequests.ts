/**
 * Requests to renew a held lock now, from holders that need a fresh term
 * (a member about to lead a provider it has just been given): the renewal
 * loop of LeaderLock.ts answers each with the term of the first renewal sent
 * after it was asked, so many requests at once cost one write and one read
 * of the bucket's generation.
 */
import type { Lease } from "@tokenbus/core"
import { Deferred, Effect, Exit, Queue } from "effect"
import { monotonicMillis } from "./monotonicMillis.ts"

export interface RenewalRequests {
  readonly freshTerm: Effect.Effect<number>
  /** Completes when a request arrives. */
  readonly asked: Effect.Effect<void>
  /** Whether a request is waiting: the renewal loop then renews at once. */
  readonly pending: Effect.Effect<boolean>
  /** Answers the requests made before `lease` was sent with its term. */
  readonly answer: (lease: Lease) => Effect.Effect<void>
}

interface RenewalRequest {
  readonly askedAt: number
  readonly term: Deferred.Deferred<number>
}

export const makeRenewalRequests = (termAt: (revision: number) => Effect.Effect<number>) =>
  Effect.gen(function*() {
    // Mutable: a start asks thousands at once, and a copy per request would be quadratic.
    let waiting: Array<RenewalRequest> = []
    const wake = yield* Queue.sliding<void>(1)
    const freshTerm = Effect.gen(function*() {
      const request = { askedAt: yield* monotonicMillis, term: yield* Deferred.make<number>() }
      yield* Effect.sync(() => waiting.push(request))
      yield* Queue.offer(wake, undefined)
      const term = yield* Deferred.await(request.term)
      // Completing a Deferred runs its waiters on the spot: each goes on in the scheduler's queue instead, so
      // a renewal answering thousands is not held up, nor the event loop, by all they do next.
      yield* Effect.yieldNow
      return term
    })
    const answer = (lease: Lease) =>
      Effect.gen(function*() {
        const due = waiting.filter((request) => request.askedAt <= lease.sentAt)
        if (due.length === 0) return
        waiting = waiting.filter((request) => request.askedAt > lease.sentAt)
        const term = yield* termAt(lease.revision)
        // All in one step: a step per request would, past Effect's budget of steps, send the renewal loop to
        // the back of the scheduler's queue, behind everything the requests it answered go on to do.
        yield* Effect.sync(() => {
          for (const request of due) Deferred.doneUnsafe(request.term, Exit.succeed(term))
        })
      })
    return {
      freshTerm,
      asked: Queue.take(wake),
      pending: Effect.sync(() => waiting.length > 0),
      answer
    } satisfies RenewalRequests
  })

