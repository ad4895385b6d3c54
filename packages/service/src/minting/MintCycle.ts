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
import { type MintOutcome, ReplicaMetrics, type ReplicaMetricsShape } from "../observe/ReplicaMetrics.ts"
import type { Answer } from "../replica/Replies.ts"
import type { UpstreamError } from "../upstream/UpstreamError.ts"
import { type Breaker, makeBreaker } from "./Breaker.ts"
import { type BudgetSpend, makeBudgetSpend } from "./BudgetSpend.ts"
import { type FifoLimit, makeFifoLimit } from "../leadership/internal/FifoLimit.ts"
import { retryWhileKvUnavailable } from "../leadership/internal/retryWhileKvUnavailable.ts"
import { type LeaderAudit, leaderAudit } from "./internal/LeaderAudit.ts"

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

/**
 * What one provider's mints run with. The steps below are module functions of it rather than closures made
 * per provider: a replica leads thousands of providers, and a cycle of closures cost each about 8 KiB.
 */
interface Parts extends MintCycleDeps {
  readonly id: string
  readonly http: HttpClient.HttpClient
  readonly calls: FifoLimit
  readonly metrics: ReplicaMetricsShape
  readonly breaker: Breaker
  readonly budget: BudgetSpend
  readonly audit: LeaderAudit
}

const makeMintCycle = Effect.fnUntraced(function*(deps: MintCycleDeps, http: HttpClient.HttpClient, calls: FifoLimit) {
  const parts: Parts = {
    ...deps,
    id: deps.configured.id,
    http,
    calls,
    metrics: yield* ReplicaMetrics,
    breaker: yield* makeBreaker(deps.configured, deps.state),
    budget: yield* makeBudgetSpend(deps.configured, deps.state),
    audit: leaderAudit(deps.configured.id, deps.state)
  }
  return {
    run: (reason, answer) => run(parts, reason, answer),
    trip: parts.breaker.trip,
    nextCallAt: parts.budget.nextCallAt
  } satisfies Cycle
})

const unavailable = (parts: Parts, message: string) => new TokenUnavailable({ provider: parts.id, message })

// Not interrupted half-way (a leader stepping down): a token that landed in KV is also cached, broadcast and
// logged with its audit line. Every wait inside ends by the lease's deadline (the guard in each write).
const commit = (parts: Parts, minted: MintedToken, reason: MintReason) =>
  Effect.uninterruptible(commitNow(parts, minted, reason))

const commitNow = Effect.fnUntraced(function*(parts: Parts, minted: MintedToken, reason: MintReason) {
  const now = yield* Clock.currentTimeMillis
  // The answer holds what nothing else does (a rotated refresh token): a bucket without a stream leader
  // takes writes again after an election, so the commit is retried while the lease holds (the fence makes
  // a late write safe), never dropped.
  const written = yield* parts.state.write(({ state: { unconfirmed: _, ...rest } }) => ({
    ...rest,
    token: recordOf(minted, now, reason),
    ...(minted.carry === undefined ? {} : { carry: minted.carry })
  })).pipe(retryWhileKvUnavailable("committing the token"))
  const token = written.token as Token
  parts.cache.offer(token)
  yield* parts.broadcast(token)
  yield* parts.audit("mint", "minted and committed a token", reason, token.version)
  return token
})

/** The carry to mint with, or the breaker tripped because an earlier call may have spent it. */
const carryToUse = Effect.fnUntraced(function*(parts: Parts) {
  const decision = decideCarry(parts.configured.lostAnswer, (yield* parts.state.snapshot).state)
  if (decision._tag === "Use") return decision.carry
  const { holder, since, term } = decision.unconfirmed
  const why = holder === lostStateHolder
    ? `the provider's state in KV was lost at ${new Date(since).toISOString()} with its current refresh token, ` +
      `and the configured one has most likely been spent`
    : `a call to the upstream by ${holder} (term ${term}) at ${new Date(since).toISOString()} may have spent ` +
      `the refresh token, and its answer was never committed`
  return yield* parts.breaker.trip(
    `${why}; replaying it could revoke the grant. Put a new refresh token in the provider's configuration ` +
      `(refreshToken)`
  )
})

/** An answer from the upstream, or a call that never left, spent nothing: the record of the call goes. */
const settleFailedCall = (parts: Parts, error: UpstreamError) =>
  error.status === undefined && error.notSent !== true
    ? Effect.void
    : Effect.asVoid(parts.state.write(({ state: { unconfirmed: _, ...rest } }) => rest))

const call = Effect.fnUntraced(function*(parts: Parts, answer: Deferred.Deferred<Answer, ProtocolError>) {
  const carry = yield* carryToUse(parts)
  yield* parts.budget.spend(answer, carry)
  yield* parts.guard
  const { minter } = yield* parts.breaker.current
  return yield* parts.calls.withPermit(Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const minted = yield* minter.mint({ carry }).pipe(
      Effect.provideService(HttpClient.HttpClient, parts.http),
      Effect.result
    )
    const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
    parts.metrics.upstreamCall(parts.id, seconds, minted._tag === "Success" ? "ok" : minted.failure.kind)
    return minted
  }))
})

const afterFailure = Effect.fnUntraced(function*(parts: Parts, error: UpstreamError, attempt: number) {
  const { rateLimit, retry } = parts.configured
  yield* Effect.logWarning("upstream call failed").pipe(Effect.annotateLogs({ kind: error.kind, attempt, error: error.message }))
  yield* settleFailedCall(parts, error)
  if (error.kind === "credentials-rejected" || error.kind === "unusable") return yield* parts.breaker.trip(error.message)
  if (error.kind === "refused" || attempt >= retry.attempts) {
    return yield* unavailable(parts, `${error.message} (after ${attempt} attempt${attempt === 1 ? "" : "s"})`)
  }
  const now = yield* Clock.currentTimeMillis
  if (error.kind === "rate-limited") {
    const until = now + (error.retryAfterMillis ?? rateLimit.windowMillis / rateLimit.tokens)
    const blocked = yield* parts.state.write((s) => ({ ...s.state, budget: block(rateLimit, s.state.budget, now, until) }))
    parts.metrics.budget(parts.id, rateLimit, blocked.state.budget)
    return
  }
  const delay = backoffDelay(retry, attempt, yield* Random.next)
  yield* parts.budget.planCall(now + delay)
  yield* Effect.sleep(delay)
})

const run = Effect.fnUntraced(
  function*(parts: Parts, reason: MintReason, answer: Deferred.Deferred<Answer, ProtocolError>) {
    // Before the breaker and the budget: the request is on record whatever becomes of it.
    if (reason === "operator") yield* parts.audit("operator-request", "an operator asked for a new token", reason)
    for (let attempt = 1;; attempt++) {
      yield* parts.breaker.check(reason)
      const minted = yield* call(parts, answer)
      if (minted._tag === "Success") {
        return yield* Deferred.succeed(answer, { token: yield* commit(parts, minted.success, reason) })
      }
      yield* afterFailure(parts, minted.failure, attempt)
    }
  },
  (effect, parts, reason) =>
    effect.pipe(
      Effect.onExit((exit) => Effect.sync(() => parts.metrics.minted(parts.id, reason, outcomeOf(exit)))),
      Effect.ensuring(parts.budget.planCall(undefined))
    )
)
