/**
 * Single-flight for one provider's leader: decides each request against the
 * held token and the mint under way (MintDecision.ts in core), and starts at
 * most one mint at a time, in the leader's scope so that a requester giving
 * up does not abandon it half-way. Every request that joins a mint is
 * answered by that mint's outcome, whatever it is: a token, the current token
 * with the time the next is expected, or the error.
 */
import {
  CredentialsRejected,
  decideMint,
  type MintDecision,
  type MintReason,
  type MintRequest,
  type ProtocolError,
  type Token,
  TokenUnavailable
} from "@tokenbus/core"
import { Cause, Clock, Deferred, Effect, Exit, Ref, type Scope, Semaphore } from "effect"
import type { ConfiguredProvider } from "../config/ConfiguredProvider.ts"
import { Deposed, type FencedState } from "../leadership/FencedState.ts"
import { LeadershipLost } from "../leadership/LeaderLock.ts"
import { type Deduplicated, ReplicaMetrics, type ReplicaMetricsShape } from "../observe/ReplicaMetrics.ts"
import type { Answer } from "../replica/Replies.ts"
import type { Cycle } from "./MintCycle.ts"

/** Answers one request for a token: serves, joins or mints. */
export type Serve = (request: MintRequest, reason: MintReason) => Effect.Effect<Answer, ProtocolError>

/** A provider's single flight: `Serve`, and a wait for the mint under way, if any, to end. */
export interface SingleFlight extends Serve {
  readonly idle: Effect.Effect<void>
}

export interface SingleFlightOptions {
  readonly configured: ConfiguredProvider
  readonly state: FencedState
  readonly cycle: Cycle
  /** The leader's scope: mints run in it, and stop with it. */
  readonly scope: Scope.Scope
}

type Waiting = Deferred.Deferred<Answer, ProtocolError>

/** What the waiting consumers are told when a mint ended without answering them. */
const toProtocolError = (provider: string, exit: Exit.Exit<unknown, unknown>): ProtocolError => {
  const failure = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail") : undefined
  const error = failure?._tag === "Fail" ? failure.error : undefined
  if (error instanceof CredentialsRejected || error instanceof TokenUnavailable) return error
  const message = error instanceof Error ? error.message : "the leader stopped while minting"
  return new TokenUnavailable({ provider, message })
}

/** The mint failed because this replica is no longer the leader: the next one must answer, not this one. */
const lostLeadership = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) &&
  exit.cause.reasons.some((reason) =>
    reason._tag === "Fail" && (reason.error instanceof Deposed || reason.error instanceof LeadershipLost)
  )

/**
 * What one provider's single flight runs with. The steps below are module functions of it rather than
 * closures made per provider: a replica leads thousands of providers, each at idle almost always.
 */
interface Parts extends SingleFlightOptions {
  readonly id: string
  /** The mint under way: whoever joins it waits on its answer. */
  readonly minting: Ref.Ref<Waiting | undefined>
  /** Deciding and settling take turns, so a decision never sees a committed token with a stale "in flight". */
  readonly deciding: Semaphore.Semaphore
  readonly metrics: ReplicaMetricsShape
}

export const makeSingleFlight = Effect.fnUntraced(function*(options: SingleFlightOptions) {
  const parts: Parts = {
    ...options,
    id: options.configured.id,
    minting: yield* Ref.make<Waiting | undefined>(undefined),
    deciding: yield* Semaphore.make(1),
    metrics: yield* ReplicaMetrics
  }
  const serve: Serve = (request, reason) => serveWith(parts, request, reason, false)
  return Object.assign(serve, { idle: idle(parts) }) satisfies SingleFlight
})

/** A 401 report answered without a mint of its own: counted. */
const deduplicatedAs: Partial<Record<MintDecision, Deduplicated>> = {
  "join-in-flight": "joined-mint",
  "serve-current": "served-current"
}

/** Ends the waiting consumers' wait with the mint's outcome; a leader stepping down leaves them unanswered. */
const settle = (parts: Parts, waiting: Waiting, exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return Effect.void
  // Unanswered, a replica asks again and reaches the next leader; an error would reach the consumer.
  if (Cause.hasInterruptsOnly(exit.cause) || lostLeadership(exit)) return Deferred.interrupt(waiting)
  return Deferred.fail(waiting, toProtocolError(parts.id, exit))
}

/** Runs `work` as the mint under way; whoever joined it is answered when it ends. */
const start = (parts: Parts, work: Effect.Effect<void, unknown>, waiting: Waiting) =>
  work.pipe(
    Effect.onExit((exit) =>
      parts.deciding.withPermits(1)(Ref.set(parts.minting, undefined)).pipe(
        Effect.andThen(settle(parts, waiting, exit))
      )
    ),
    Effect.ignore,
    Effect.forkIn(parts.scope)
  )

/** A token minted because of a 401, itself reported 401 this soon: a new one would fare no better. */
const refusedAtOnce = (parts: Parts, request: MintRequest, current: Token | undefined) =>
  Clock.currentTimeMillis.pipe(Effect.map((now) =>
    request._tag === "Unauthorized" && current?.reason === "unauthorized-report" &&
    now - current.issuedAt < parts.configured.circuitBreaker.freshTokenMillis
  ))

const decide = (parts: Parts, request: MintRequest, fresh: Waiting) =>
  parts.deciding.withPermits(1)(Effect.gen(function*() {
    const { state: stored, token } = yield* parts.state.snapshot
    const inFlight = yield* Ref.get(parts.minting)
    const decision: MintDecision = decideMint({ current: token?.version, inFlight: inFlight !== undefined }, request)
    if (decision === "mint") yield* Ref.set(parts.minting, fresh)
    return [decision, inFlight, token, stored.breaker !== undefined] as const
  }))

/**
 * A joined mint answered its first waiters early, with when it expected to
 * call the upstream; by now that moment may have passed or moved (a 429):
 * say when the leader will really call.
 */
const expectedNow = (parts: Parts, answer: Answer): Effect.Effect<Answer> =>
  answer.renewalExpectedAt === undefined
    ? Effect.succeed(answer)
    : Effect.map(
      Effect.all([parts.cycle.nextCallAt, Clock.currentTimeMillis]),
      ([next, now]) => ({ ...answer, renewalExpectedAt: Math.max(now, next ?? now) })
    )

const serveWith = (
  parts: Parts,
  request: MintRequest,
  reason: MintReason,
  reloaded: boolean
): Effect.Effect<Answer, ProtocolError> =>
  Effect.gen(function*() {
    const { cycle, id, state } = parts
    const fresh = yield* Deferred.make<Answer, ProtocolError>()
    const [decision, inFlight, held, breakerOpen] = yield* decide(parts, request, fresh)
    const how = request._tag === "Unauthorized" && !reloaded ? deduplicatedAs[decision] : undefined
    if (how !== undefined) parts.metrics.deduplicated(id, how)
    if (decision === "join-in-flight" && inFlight !== undefined) {
      return yield* Deferred.await(inFlight).pipe(Effect.flatMap((answer) => expectedNow(parts, answer)))
    }
    if (decision === "reload" && !reloaded) {
      yield* state.reload.pipe(Effect.mapError((error) => new TokenUnavailable({ provider: id, message: error.message })))
      return yield* serveWith(parts, request, reason, true)
    }
    if (decision !== "mint" && held !== undefined) return { token: held }
    // Tripping the breaker is this mint's outcome: requests that joined it in the meantime share it. Once it
    // holds, the cycle's own check answers (or, with new credentials, clears it and mints): a flood of
    // reports trips it once, not once per report.
    const work = !breakerOpen && (yield* refusedAtOnce(parts, request, held))
      ? cycle.trip(`the token minted after a 401 (version ${held?.version}) was itself refused at once`)
      : cycle.run(reason, fresh)
    yield* start(parts, work, fresh)
    return yield* Deferred.await(fresh)
  })

/** Completes once no mint is under way: a leader handing its provider over lets it finish first. */
const idle = (parts: Parts) =>
  Effect.gen(function*() {
    while ((yield* Ref.get(parts.minting)) !== undefined) yield* Effect.sleep(50)
  })
