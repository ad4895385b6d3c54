/**
 * One mint, start to commit: the circuit breaker (Breaker.ts), the rate
 * budget (BudgetSpend.ts), the upstream call with its retries and backoff,
 * and the fenced commit. A call that may spend the carry (a rotating refresh
 * token) is recorded with the budget before it is made and cleared by its
 * commit, so a leader that dies in between leaves a record the next one
 * heeds (`decideCarry` in core) instead of replaying a spent refresh token.
 * Consumers waiting for the mint are answered through `answer`, early when
 * the budget makes it wait (they get the current token and when the next one
 * is expected; the new one arrives by broadcast).
 */
import {
  backoffDelay,
  block,
  CredentialsRejected,
  type MintReason,
  type ProtocolError,
  type StoredToken,
  decideCarry,
  lostStateHolder,
  type Token,
  type TokenCache,
  TokenUnavailable
} from "@tokenbus/core"
import { Cause, Clock, Context, Deferred, Effect, type Exit, Layer, Random } from "effect"
import { HttpClient } from "effect/http"
import type { ConfiguredProvider } from "../config/ConfiguredProvider.ts"
import type { MintedToken } from "../kinds/ProviderKind.ts"
import type { FencedState, WriteError } from "../leadership/FencedState.ts"
import type { LeadershipGuard } from "../leadership/LeaderLock.ts"
import { type MintOutcome, ReplicaMetrics } from "../observe/ReplicaMetrics.ts"
import type { Answer } from "../replica/Replies.ts"
import type { UpstreamError } from "../upstream/UpstreamError.ts"
import { makeBreaker } from "./Breaker.ts"
import { makeBudgetSpend } from "./BudgetSpend.ts"
import { type FifoLimit, makeFifoLimit } from "../leadership/internal/FifoLimit.ts"
import { retryWhileKvUnavailable } from "../leadership/internal/retryWhileKvUnavailable.ts"
import { leaderAudit } from "./internal/LeaderAudit.ts"

export interface MintCycleDeps {
  readonly configured: ConfiguredProvider
  readonly state: FencedState
  readonly guard: LeadershipGuard
  readonly cache: TokenCache
  readonly broadcast: (token: Token) => Effect.Effect<void>
}

/** One provider's mints, for as long as this replica leads it. */
export interface Cycle {
  /** Mints (or waits for the budget), answering `answer`; fails with what the waiting consumers are told. */
  readonly run: (
    reason: MintReason,
    answer: Deferred.Deferred<Answer, ProtocolError>
  ) => Effect.Effect<void, ProtocolError | WriteError>
  /** Trips the circuit breaker for `reason`; always fails, with `CredentialsRejected` once it is recorded. */
  readonly trip: (reason: string) => Effect.Effect<never, CredentialsRejected | WriteError>
  /** When the next upstream call is planned while a mint waits (budget, 429); undefined when none waits. */
  readonly nextCallAt: Effect.Effect<number | undefined>
}

export class MintCycle extends Context.Service<MintCycle, {
  readonly make: (deps: MintCycleDeps) => Effect.Effect<Cycle>
}>()("@tokenbus/service/MintCycle") {
  /** Mints through the replica's `HttpClient`. */
  static readonly layer: Layer.Layer<MintCycle, never, HttpClient.HttpClient> = Layer.effect(
    MintCycle,
    Effect.gen(function*() {
      const http = yield* HttpClient.HttpClient
      // Upstream calls in flight at once, over all providers: thousands of first mints at a start must not
      // open thousands of sockets nor starve the event loop the lease renewals run on.
      const calls = yield* makeFifoLimit(upstreamConcurrency)
      return { make: (deps) => makeMintCycle(deps, http, calls) }
    })
  )
}

const recordOf = (minted: MintedToken, now: number, reason: MintReason): StoredToken => ({
  accessToken: minted.accessToken,
  tokenType: minted.tokenType,
  issuedAt: now,
  reason,
  ...(minted.expiresInSeconds === undefined ? {} : { expiresAt: now + minted.expiresInSeconds * 1000 })
})

/** How a mint ended, for `tokenbus_mints_total`. */
const outcomeOf = (exit: Exit.Exit<unknown, ProtocolError | WriteError>): MintOutcome => {
  if (exit._tag === "Success") return "committed"
  const failure = exit.cause.reasons.find(Cause.isFailReason)?.error
  if (failure === undefined) return "interrupted"
  if (failure._tag === "CredentialsRejected") return "rejected"
  if (failure._tag === "TokenUnavailable") return "unavailable"
  return "lost-leadership"
}

/** How many upstream calls one replica has in flight at most. */
const upstreamConcurrency = 64

const makeMintCycle = Effect.fnUntraced(function*(
  deps: MintCycleDeps,
  http: HttpClient.HttpClient,
  calls: FifoLimit
) {
  const { cache, configured, guard, state } = deps
  const id = configured.id
  const { rateLimit, retry } = configured
  const unavailable = (message: string) => new TokenUnavailable({ provider: id, message })
  const breaker = yield* makeBreaker(configured, state)
  const budget = yield* makeBudgetSpend(configured, state)
  const audit = leaderAudit(id, state)
  const metrics = yield* ReplicaMetrics

  // Not interrupted half-way (a leader stepping down): a token that landed in KV is also cached, broadcast and
  // logged with its audit line. Every wait inside ends by the lease's deadline (the guard in each write).
  const commit = (minted: MintedToken, reason: MintReason) => Effect.uninterruptible(commitNow(minted, reason))

  const commitNow = Effect.fnUntraced(function*(minted: MintedToken, reason: MintReason) {
    const now = yield* Clock.currentTimeMillis
    // The answer holds what nothing else does (a rotated refresh token): a bucket without a stream leader
    // takes writes again after an election, so the commit is retried while the lease holds (the fence makes
    // a late write safe), never dropped.
    const written = yield* state.write(({ state: { unconfirmed: _, ...rest } }) => ({
      ...rest,
      token: recordOf(minted, now, reason),
      ...(minted.carry === undefined ? {} : { carry: minted.carry })
    })).pipe(retryWhileKvUnavailable("committing the token"))
    const token = written.token as Token
    cache.offer(token)
    yield* deps.broadcast(token)
    yield* audit("mint", "minted and committed a token", reason, token.version)
    return token
  })

  /** The carry to mint with, or the breaker tripped because an earlier call may have spent it. */
  const carryToUse = Effect.gen(function*() {
    const decision = decideCarry(configured.lostAnswer, (yield* state.snapshot).state)
    if (decision._tag === "Use") return decision.carry
    const { holder, since, term } = decision.unconfirmed
    const why = holder === lostStateHolder
      ? `the provider's state in KV was lost at ${new Date(since).toISOString()} with its current refresh token, ` +
        `and the configured one has most likely been spent`
      : `a call to the upstream by ${holder} (term ${term}) at ${new Date(since).toISOString()} may have spent ` +
        `the refresh token, and its answer was never committed`
    return yield* breaker.trip(
      `${why}; replaying it could revoke the grant. Put a new refresh token in the provider's configuration ` +
        `(refreshToken)`
    )
  })

  /** An answer from the upstream, or a call that never left, spent nothing: the record of the call goes. */
  const settleFailedCall = (error: UpstreamError) =>
    error.status === undefined && error.notSent !== true
      ? Effect.void
      : Effect.asVoid(state.write(({ state: { unconfirmed: _, ...rest } }) => rest))

  const call = Effect.fnUntraced(function*(answer: Deferred.Deferred<Answer, ProtocolError>) {
    const carry = yield* carryToUse
    yield* budget.spend(answer, carry)
    yield* guard
    const { minter } = yield* breaker.current
    return yield* calls.withPermit(Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const minted = yield* minter.mint({ carry }).pipe(Effect.provideService(HttpClient.HttpClient, http), Effect.result)
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      metrics.upstreamCall(id, seconds, minted._tag === "Success" ? "ok" : minted.failure.kind)
      return minted
    }))
  })

  const afterFailure = Effect.fnUntraced(function*(error: UpstreamError, attempt: number) {
    yield* Effect.logWarning("upstream call failed").pipe(Effect.annotateLogs({ kind: error.kind, attempt, error: error.message }))
    yield* settleFailedCall(error)
    if (error.kind === "credentials-rejected" || error.kind === "unusable") return yield* breaker.trip(error.message)
    if (error.kind === "refused" || attempt >= retry.attempts) {
      return yield* unavailable(`${error.message} (after ${attempt} attempt${attempt === 1 ? "" : "s"})`)
    }
    const now = yield* Clock.currentTimeMillis
    if (error.kind === "rate-limited") {
      const until = now + (error.retryAfterMillis ?? rateLimit.windowMillis / rateLimit.tokens)
      const blocked = yield* state.write((s) => ({ ...s.state, budget: block(rateLimit, s.state.budget, now, until) }))
      metrics.budget(id, rateLimit, blocked.state.budget)
      return
    }
    const delay = backoffDelay(retry, attempt, yield* Random.next)
    yield* budget.planCall(now + delay)
    yield* Effect.sleep(delay)
  })

  const run = Effect.fnUntraced(function*(reason: MintReason, answer: Deferred.Deferred<Answer, ProtocolError>) {
    // Before the breaker and the budget: the request is on record whatever becomes of it.
    if (reason === "operator") yield* audit("operator-request", "an operator asked for a new token", reason)
    for (let attempt = 1;; attempt++) {
      yield* breaker.check(reason)
      const minted = yield* call(answer)
      if (minted._tag === "Success") return yield* Deferred.succeed(answer, { token: yield* commit(minted.success, reason) })
      yield* afterFailure(minted.failure, attempt)
    }
  }, (effect, reason) =>
    effect.pipe(
      Effect.onExit((exit) => Effect.sync(() => metrics.minted(id, reason, outcomeOf(exit)))),
      Effect.ensuring(budget.planCall(undefined))
    ))

  return { run, trip: breaker.trip, nextCallAt: budget.nextCallAt } satisfies Cycle
})
