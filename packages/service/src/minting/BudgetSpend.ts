/**
 * The rate budget as one leader's mints spend it: the spend (and a record of
 * a call that may spend the carry) written to KV before each upstream call,
 * waiting while the window is full, and when the next call is planned, which
 * is what waiting consumers are told.
 */
import { type ProtocolError, recordsCall, take, TokenUnavailable } from "@tokenbus/core"
import { Clock, Deferred, Effect, Ref } from "effect"
import type { ConfiguredProvider } from "../config/ConfiguredProvider.ts"
import type { FencedState, WriteError } from "../leadership/FencedState.ts"
import type { Snapshot } from "../store/TokenStore.ts"
import { ReplicaMetrics, type ReplicaMetricsShape } from "../observe/ReplicaMetrics.ts"
import type { Answer } from "../replica/Replies.ts"

export interface BudgetSpend {
  /**
   * Takes the budget, and records a call that may spend the carry, in one write before the call: a leader
   * dying mid-call must not hand on a full budget, nor a carry that may be spent. While none is left, the
   * consumers waiting on `answer` are told what they can have now, and the spend waits.
   */
  readonly spend: (answer: Deferred.Deferred<Answer, ProtocolError>, carry: unknown) => Effect.Effect<Snapshot, WriteError>
  /** When the next upstream call is planned while a mint waits; undefined when none waits. */
  readonly nextCallAt: Effect.Effect<number | undefined>
  readonly planCall: (at: number | undefined) => Effect.Effect<void>
}

/** What one provider's spend runs with; its steps are module functions of it, not closures per provider. */
interface Parts {
  readonly configured: ConfiguredProvider
  readonly state: FencedState
  readonly nextCallAt: Ref.Ref<number | undefined>
  readonly metrics: ReplicaMetricsShape
}

export const makeBudgetSpend = Effect.fnUntraced(function*(configured: ConfiguredProvider, state: FencedState) {
  const metrics = yield* ReplicaMetrics
  metrics.budget(configured.id, configured.rateLimit, (yield* state.snapshot).state.budget)
  const parts: Parts = { configured, state, nextCallAt: yield* Ref.make<number | undefined>(undefined), metrics }
  return {
    spend: (answer, carry) => spend(parts, answer, carry),
    nextCallAt: Ref.get(parts.nextCallAt),
    planCall: (at) => Ref.set(parts.nextCallAt, at)
  } satisfies BudgetSpend
})

/** No budget left: tell the waiting consumers what they can have now, then wait. */
const waitForBudget = Effect.fnUntraced(function*(
  parts: Parts,
  until: number,
  answer: Deferred.Deferred<Answer, ProtocolError>
) {
  const { token } = yield* parts.state.snapshot
  const expected = new Date(until).toISOString()
  yield* Ref.set(parts.nextCallAt, until)
  yield* token === undefined
    ? Deferred.fail(answer, new TokenUnavailable({
      provider: parts.configured.id,
      message: `the upstream's rate budget is spent; a token is expected at ${expected}`
    }))
    : Deferred.succeed(answer, { token, renewalExpectedAt: until })
  yield* Effect.logWarning("mint waits for the rate budget").pipe(Effect.annotateLogs({ until: expected }))
  yield* Effect.sleep(Math.max(0, until - (yield* Clock.currentTimeMillis)))
})

const spend = Effect.fnUntraced(function*(parts: Parts, answer: Deferred.Deferred<Answer, ProtocolError>, carry: unknown) {
  const { configured, state } = parts
  const { rateLimit } = configured
  while (true) {
    const now = yield* Clock.currentTimeMillis
    const grant = take(rateLimit, (yield* state.snapshot).state.budget, now)
    if (grant._tag === "Wait") {
      yield* waitForBudget(parts, grant.until, answer)
      continue
    }
    yield* Ref.set(parts.nextCallAt, undefined)
    const written = yield* state.write(({ state: { unconfirmed: _, ...rest } }) => {
      const fence = rest.fence ?? { holder: "unknown", term: 0 }
      const record = recordsCall(configured.lostAnswer, carry) ? { unconfirmed: { since: now, ...fence } } : {}
      return { ...rest, budget: grant.state, ...record }
    })
    parts.metrics.budget(configured.id, rateLimit, grant.state)
    return written
  }
})
