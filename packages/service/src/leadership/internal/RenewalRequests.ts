/**
 * Requests to renew a held lock now, from holders that need a fresh term
 * (a member about to lead a provider it has just been given): the renewal
 * loop of LeaderLock.ts answers each with the term of the first renewal sent
 * after it was asked, so many requests at once cost one write and one read
 * of the bucket's generation.
 */
import type { Lease } from "@tokenbus/core"
import { Deferred, Effect, Queue, Ref } from "effect"
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
    const waiting = yield* Ref.make<ReadonlyArray<RenewalRequest>>([])
    const wake = yield* Queue.sliding<void>(1)
    const freshTerm = Effect.gen(function*() {
      const request = { askedAt: yield* monotonicMillis, term: yield* Deferred.make<number>() }
      yield* Ref.update(waiting, (requests) => [...requests, request])
      yield* Queue.offer(wake, undefined)
      return yield* Deferred.await(request.term)
    })
    const answer = (lease: Lease) =>
      Effect.gen(function*() {
        const due = (yield* Ref.get(waiting)).filter((request) => request.askedAt <= lease.sentAt)
        if (due.length === 0) return
        yield* Ref.update(waiting, (requests) => requests.filter((request) => request.askedAt > lease.sentAt))
        const term = yield* termAt(lease.revision)
        for (const request of due) yield* Deferred.succeed(request.term, term)
      })
    return {
      freshTerm,
      asked: Queue.take(wake),
      pending: Effect.map(Ref.get(waiting), (requests) => requests.length > 0),
      answer
    } satisfies RenewalRequests
  })

