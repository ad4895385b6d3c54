/**
 * What the leader of one provider does while it holds the lock.
 *
 * It first writes its fence into the provider's state in KV (see
 * internal/FencedState.ts): from then on any write by an earlier leader
 * fails, and that leader steps down. Then it adopts the stored token (a
 * failover must not spend the upstream's rate budget) or mints one, answers
 * replicas' mint requests with single-flight, so a storm of 401 reports costs
 * one upstream call, and renews on schedule when the provider's lifecycle
 * says so. Each mint goes through internal/MintCycle.ts: circuit breaker,
 * rate budget, upstream call, retries, fenced commit.
 */
import {
  CredentialsRejected,
  decideMint,
  InvalidRequest,
  type Lifecycle,
  type MintDecision,
  type MintReason,
  type MintRequest,
  MintRequestJson,
  type MintRequestMessage,
  type ProtocolError,
  renewalDueAt,
  type Subjects,
  type Token,
  type TokenCache,
  TokenUnavailable
} from "@tokenbus/core"
import { type InboundMessage, NatsConnection } from "@tokenbus/nats"
import { Cause, Clock, Deferred, Effect, Exit, Random, Ref, Schedule, Schema, type Scope, Semaphore, Stream } from "effect"
import { type FencedState, makeFencedState } from "./internal/FencedState.ts"
import { makeMintCycle } from "./internal/MintCycle.ts"
import { type Answer, answerReply, errorReply, tokenUpdate } from "./internal/replies.ts"
import type { LeadershipGuard } from "./LeaderLock.ts"
import { type ConfiguredProvider, lifecycleOf, type ResolvedProvider } from "./ServiceConfig.ts"
import { StaticToken } from "./StaticToken.ts"
import type { TokenStore } from "./TokenStore.ts"

export interface ProviderLeaderDeps {
  readonly provider: ConfiguredProvider
  readonly holder: string
  readonly store: TokenStore
  readonly subjects: Subjects
  readonly cache: TokenCache
}

const decodeMintRequest = Schema.decodeUnknownEffect(MintRequestJson)

/** How often the renewal loop looks at the clock and the held token. */
const renewalTickMillis = 1_000

const requestOf = (message: MintRequestMessage): MintRequest =>
  message.reason === "operator"
    ? { _tag: "Operator" }
    : message.reason === "unauthorized-report" && message.failedVersion !== undefined
    ? { _tag: "Unauthorized", version: message.failedVersion }
    : { _tag: "Ensure" }

/** What the waiting consumers are told when a mint ended without answering them. */
const toProtocolError = (provider: string, exit: Exit.Exit<unknown, unknown>): ProtocolError => {
  const failure = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail") : undefined
  const error = failure?._tag === "Fail" ? failure.error : undefined
  if (error instanceof CredentialsRejected || error instanceof TokenUnavailable) return error
  const message = error instanceof Error ? error.message : "the leader stopped while minting"
  return new TokenUnavailable({ provider, message })
}

const logFailure = (message: string) => (error: { readonly message: string }) =>
  Effect.logWarning(message).pipe(Effect.annotateLogs({ error: error.message }))

export const lead = (deps: ProviderLeaderDeps) =>
(guard: LeadershipGuard, term: number): Effect.Effect<void, never, Scope.Scope | NatsConnection> =>
  Effect.gen(function*() {
    const nats = yield* NatsConnection
    const { cache, provider: configured, store, subjects } = deps
    const id = configured.id
    const scope = yield* Effect.scope

    const initial = yield* store.read(id).pipe(
      Effect.retry(Schedule.max([Schedule.spaced("200 millis"), Schedule.recurs(10)])),
      Effect.option
    )
    if (initial._tag === "None") return yield* Effect.logError("cannot read the provider's state; stepping down")
    const state = yield* makeFencedState({
      provider: id,
      store,
      fence: { holder: deps.holder, term },
      guard,
      initial: initial.value
    })
    const broadcast = (token: Token) =>
      nats.publish(subjects.updates(id), tokenUpdate(token)).pipe(
        Effect.catch(logFailure("broadcast failed; replicas will read KV"))
      )
    const cycle = yield* makeMintCycle({ configured, state, guard, cache, broadcast })
    const serve = yield* makeServe({ configured, state, cycle, scope })

    // The fence first: nothing else this leader does may interleave with an older leader's writes.
    const fenced = yield* state.write((s) => s.state).pipe(Effect.result)
    if (fenced._tag === "Failure") {
      return yield* Effect.logError("cannot fence the provider; stepping down").pipe(
        Effect.annotateLogs({ error: fenced.failure.message })
      )
    }

    yield* nats.serve(subjects.mint(id), {}, (message) => answer(serve, message))
    const { state: stored, token } = fenced.success
    if (token !== undefined) {
      yield* Effect.logInfo("adopted the stored token").pipe(Effect.annotateLogs({ version: token.version }))
      cache.offer(token)
      // Re-broadcast: a previous leader may have committed and died before publishing.
      yield* broadcast(token)
    } else if (stored.breaker !== undefined) {
      yield* Effect.logWarning("the circuit breaker is open; no initial mint").pipe(
        Effect.annotateLogs({ reason: stored.breaker.reason })
      )
    } else {
      yield* serve({ _tag: "Ensure" }, "initial").pipe(
        Effect.catch(logFailure("initial mint failed")),
        Effect.forkIn(scope)
      )
    }
    const lifecycle = lifecycleOf(configured)
    if (lifecycle.mode === "proactive") yield* renewOnSchedule(state, serve, lifecycle).pipe(Effect.forkIn(scope))
    if (configured.kind === "static") yield* followFile(serve, configured, token).pipe(Effect.forkIn(scope))
    yield* state.deposed
  }).pipe(Effect.annotateLogs({ provider: deps.provider.id, role: "leader", term }))

type Serve = (request: MintRequest, reason: MintReason) => Effect.Effect<Answer, ProtocolError>

/**
 * Single-flight: decides each request against the held token and the mint
 * under way (MintDecision.ts), and starts at most one mint at a time, in the
 * leader's scope so that a requester giving up does not abandon it half-way.
 */
const makeServe = Effect.fnUntraced(function*(options: {
  readonly configured: ConfiguredProvider
  readonly state: FencedState
  readonly cycle: Effect.Success<ReturnType<typeof makeMintCycle>>
  readonly scope: Scope.Scope
}) {
  const { configured, cycle, state } = options
  const id = configured.id
  const unavailable = (message: string) => new TokenUnavailable({ provider: id, message })
  const minting = yield* Ref.make<Deferred.Deferred<Answer, ProtocolError> | undefined>(undefined)
  // Deciding and settling take turns, so a decision never sees a committed token with a stale "in flight".
  const deciding = yield* Semaphore.make(1)

  /** Ends the waiting consumers' wait with the mint's outcome; a leader stepping down leaves them unanswered. */
  const settle = (answer: Deferred.Deferred<Answer, ProtocolError>) => (exit: Exit.Exit<unknown, unknown>) => {
    if (Exit.isSuccess(exit)) return Effect.void
    // Unanswered, a replica asks again and reaches the next leader; an error would reach the consumer.
    if (Cause.hasInterruptsOnly(exit.cause)) return Deferred.interrupt(answer)
    return Deferred.fail(answer, toProtocolError(id, exit))
  }

  const start = (reason: MintReason, answer: Deferred.Deferred<Answer, ProtocolError>) =>
    cycle.run(reason, answer).pipe(
      Effect.onExit((exit) =>
        deciding.withPermits(1)(Ref.set(minting, undefined)).pipe(Effect.andThen(settle(answer)(exit)))
      ),
      Effect.ignore,
      Effect.forkIn(options.scope)
    )

  /** A token minted because of a 401, itself reported 401 this soon: a new one would fare no better. */
  const refusedAtOnce = (request: MintRequest, current: Token | undefined) =>
    Clock.currentTimeMillis.pipe(Effect.map((now) =>
      request._tag === "Unauthorized" && current?.reason === "unauthorized-report" &&
      now - current.issuedAt < configured.circuitBreaker.freshTokenMillis
    ))

  const serve = (request: MintRequest, reason: MintReason, reloaded = false): Effect.Effect<Answer, ProtocolError> =>
    Effect.gen(function*() {
      const fresh = yield* Deferred.make<Answer, ProtocolError>()
      const [decision, inFlight, held] = yield* deciding.withPermits(1)(Effect.gen(function*() {
        const { token } = yield* state.snapshot
        const inFlight = yield* Ref.get(minting)
        const decision: MintDecision = decideMint({ current: token?.version, inFlight: inFlight !== undefined }, request)
        if (decision === "mint") yield* Ref.set(minting, fresh)
        return [decision, inFlight, token] as const
      }))
      if (decision === "join-in-flight" && inFlight !== undefined) return yield* Deferred.await(inFlight)
      if (decision === "reload" && !reloaded) {
        yield* state.reload.pipe(Effect.mapError((error) => unavailable(error.message)))
        return yield* serve(request, reason, true)
      }
      if (decision !== "mint" && held !== undefined) return { token: held }
      if (yield* refusedAtOnce(request, held)) {
        yield* deciding.withPermits(1)(Ref.set(minting, undefined))
        return yield* cycle.trip(`the token minted after a 401 (version ${held?.version}) was itself refused at once`).pipe(
          Effect.mapError((error) => (error._tag === "CredentialsRejected" ? error : unavailable(error.message)))
        )
      }
      yield* start(reason, fresh)
      return yield* Deferred.await(fresh)
    })

  return serve
})

const answer = (serve: Serve, message: InboundMessage) =>
  decodeMintRequest(message.string()).pipe(
    Effect.mapError((error) => new InvalidRequest({ message: `malformed mint request: ${error.message}` })),
    Effect.flatMap((request) => serve(requestOf(request), request.reason)),
    Effect.match({ onFailure: errorReply, onSuccess: answerReply }),
    Effect.flatMap((reply) => Effect.sync(() => message.respond(reply)))
  )

/**
 * Renews the token when its lifecycle says so: each token's moment is drawn
 * once (with jitter), and a renewal is an ordinary mint, so it joins a mint
 * under way and waits for the rate budget like any other.
 */
const renewOnSchedule = (state: FencedState, serve: Serve, lifecycle: Lifecycle) =>
  Effect.gen(function*() {
    let planned: { readonly version: number; readonly dueAt: number | undefined } | undefined
    while (true) {
      const { token } = yield* state.snapshot
      if (token !== undefined && planned?.version !== token.version) {
        planned = { version: token.version, dueAt: renewalDueAt(lifecycle, token, yield* Random.next) }
      }
      const now = yield* Clock.currentTimeMillis
      if (planned?.dueAt !== undefined && now >= planned.dueAt) {
        yield* serve({ _tag: "Proactive", version: planned.version }, "proactive").pipe(
          Effect.catch(logFailure("proactive renewal failed"))
        )
      }
      const wait = planned?.dueAt === undefined ? renewalTickMillis : planned.dueAt - now
      yield* Effect.sleep(Math.max(100, Math.min(renewalTickMillis, wait)))
    }
  })

/** A static token's file changed: commit what it holds now. */
const followFile = (
  serve: Serve,
  provider: Extract<ResolvedProvider, { readonly kind: "static" }>,
  held: Token | undefined
) =>
  StaticToken.changes(provider, held?.accessToken).pipe(
    Stream.runForEach(() =>
      serve({ _tag: "Operator" }, "operator").pipe(Effect.catch(logFailure("the static token changed but cannot be read")))
    )
  )
