/**
 * The rate budget as one leader's mints spend it: the spend (and a record of
 * a call that may spend the carry) written to KV before each upstream call,
 * waiting while the window is full, and when the next call is planned, which
 * is what waiting consumers are told.
 */
import { type ProtocolError, recordsCall, take, TokenUnavailable } from "@tokenbus/core"
import { Clock, Deferred, Effect, Ref } from "effect"
import type { ConfiguredProvider } from "../config/ConfiguredProvider.ts"
import type { FencedState } from "../leadership/FencedState.ts"
import { ReplicaMetrics } from "../observe/ReplicaMetrics.ts"
import type { Answer } from "../replica/Replies.ts"

export const makeBudgetSpend = Effect.fnUntraced(function*(configured: ConfiguredProvider, state: FencedState) {
  const { rateLimit } = configured
  const unavailable = (message: string) => new TokenUnavailable({ provider: configured.id, message })
  const nextCallAt = yield* Ref.make<number | undefined>(undefined)
  const metrics = yield* ReplicaMetrics
  metrics.budget(configured.id, rateLimit, (yield* state.snapshot).state.budget)

  /** No budget left: tell the waiting consumers what they can have now, then wait. */
  const waitForBudget = Effect.fnUntraced(function*(until: number, answer: Deferred.Deferred<Answer, ProtocolError>) {
    const { token } = yield* state.snapshot
    const expected = new Date(until).toISOString()
    yield* Ref.set(nextCallAt, until)
    yield* token === undefined
      ? Deferred.fail(answer, unavailable(`the upstream's rate budget is spent; a token is expected at ${expected}`))
      : Deferred.succeed(answer, { token, renewalExpectedAt: until })
    yield* Effect.logWarning("mint waits for the rate budget").pipe(Effect.annotateLogs({ until: expected }))
    yield* Effect.sleep(Math.max(0, until - (yield* Clock.currentTimeMillis)))
  })

  /**
   * Takes the budget, and records a call that may spend the carry, in one
   * write before the call: a leader dying mid-call must not hand on a full
   * budget, nor a carry that may be spent.
   */
  const spend = Effect.fnUntraced(function*(answer: Deferred.Deferred<Answer, ProtocolError>, carry: unknown) {
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const grant = take(rateLimit, (yield* state.snapshot).state.budget, now)
      if (grant._tag === "Wait") {
        yield* waitForBudget(grant.until, answer)
        continue
      }
      yield* Ref.set(nextCallAt, undefined)
      const written = yield* state.write(({ state: { unconfirmed: _, ...rest } }) => {
        const fence = rest.fence ?? { holder: "unknown", term: 0 }
        const record = recordsCall(configured.lostAnswer, carry) ? { unconfirmed: { since: now, ...fence } } : {}
        return { ...rest, budget: grant.state, ...record }
      })
      metrics.budget(configured.id, rateLimit, grant.state)
      return written
    }
  })

  return {
    spend,
    /** When the next upstream call is planned while a mint waits; undefined when none waits. */
    nextCallAt: Ref.get(nextCallAt),
    planCall: (at: number | undefined) => Ref.set(nextCallAt, at)
  }
})
