/**
 * What the leader of one provider does while it holds the lock.
 *
 * It first writes its fence (holder and term) into the provider's state in KV:
 * from then on, any write by an earlier leader fails, and that leader, reading
 * the state again, finds the newer fence and steps down. Then it adopts the
 * stored token (a failover must not spend the upstream's rate budget) or mints
 * one, and answers replicas' mint requests with single-flight, so a storm of
 * 401 reports costs one upstream call.
 *
 * Every upstream call first takes from the rate budget kept in KV (a 429's
 * Retry-After closes it for as long as the upstream says); transient failures
 * are retried with capped, jittered backoff; a rejected credential trips the
 * circuit breaker, which holds until the secret or configuration changes or
 * an operator forces a retry. See ARCHITECTURE.md.
 */
import {
  backoffDelay,
  block,
  checkFence,
  CredentialsRejected,
  decideMint,
  type Fence,
  type MintDecision,
  type MintReason,
  type MintRequest,
  MintRequestJson,
  type MintRequestMessage,
  InvalidRequest,
  type Lifecycle,
  type ProtocolError,
  type ProviderState,
  type StoredToken,
  type Subjects,
  renewalDueAt,
  take,
  type Token,
  type TokenCache,
  TokenUnavailable
} from "@tokenbus/core"
import { type InboundMessage, NatsConnection } from "@tokenbus/nats"
import { Clock, Data, Deferred, Effect, Exit, Random, Ref, Schedule, Schema, type Scope, Semaphore, Stream } from "effect"
import { fingerprint } from "./internal/fingerprint.ts"
import { type Answer, answerReply, errorReply, tokenUpdate } from "./internal/replies.ts"
import type { LeadershipGuard } from "./LeaderLock.ts"
import { type MintedToken, type Minter, makeMinter } from "./Minter.ts"
import { type ConfiguredProvider, lifecycleOf, type ResolvedProvider } from "./ServiceConfig.ts"
import { StaticToken } from "./StaticToken.ts"
import type { Snapshot, TokenStore } from "./TokenStore.ts"

export interface ProviderLeaderDeps {
  readonly provider: ConfiguredProvider
  readonly holder: string
  readonly store: TokenStore
  readonly subjects: Subjects
  readonly cache: TokenCache
}

/** A newer leader has fenced the provider: this one must stop. */
class Deposed extends Data.TaggedError("Deposed")<{ readonly message: string }> {}

interface LeaderState {
  readonly snapshot: Snapshot
  readonly provider: ResolvedProvider
  readonly minter: Minter
  /** The answer of the mint under way, shared by every request that joins it. */
  readonly minting: Deferred.Deferred<Answer, ProtocolError> | undefined
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

const recordOf = (minted: MintedToken, now: number, reason: MintReason): StoredToken => ({
  accessToken: minted.accessToken,
  tokenType: minted.tokenType,
  issuedAt: now,
  reason,
  ...(minted.expiresInSeconds === undefined ? {} : { expiresAt: now + minted.expiresInSeconds * 1000 })
})

const withoutBreaker = ({ breaker: _, ...state }: ProviderState): ProviderState => state

export const lead = (deps: ProviderLeaderDeps) =>
(guard: LeadershipGuard, term: number): Effect.Effect<void, never, Scope.Scope | NatsConnection> =>
  Effect.gen(function*() {
    const nats = yield* NatsConnection
    const { cache, provider: configured, store, subjects } = deps
    const id = configured.id
    const policy = configured
    const mine: Fence = { holder: deps.holder, term }
    const unavailable = (message: string) => new TokenUnavailable({ provider: id, message })
    const scope = yield* Effect.scope
    const stepDown = yield* Deferred.make<void>()
    const writing = yield* Semaphore.make(1)

    const initial = yield* store.read(id).pipe(
      Effect.retry(Schedule.max([Schedule.spaced("200 millis"), Schedule.recurs(10)])),
      Effect.option
    )
    if (initial._tag === "None") return yield* Effect.logError("cannot read the provider's state; stepping down")
    const state = yield* Ref.make<LeaderState>({
      snapshot: initial.value,
      provider: configured,
      minter: makeMinter(configured),
      minting: undefined
    })

    const depose = (fence: Fence | undefined) =>
      Effect.gen(function*() {
        const message = `a newer leader (${fence?.holder}, term ${fence?.term}) has fenced ${id}; this one (term ${term}) steps down`
        yield* Effect.logError(message)
        yield* Deferred.succeed(stepDown, undefined)
        return yield* new Deposed({ message })
      })

    /**
     * Writes the state `next` computes from the latest snapshot, with this
     * leader's fence, as a compare-and-set. A conflict means someone else
     * wrote: a newer leader (step down) or, rarely, an operator (retry).
     */
    const write = (next: (snapshot: Snapshot) => ProviderState) =>
      writing.withPermits(1)(Effect.gen(function*() {
        for (let attempt = 0; attempt < 3; attempt++) {
          yield* guard
          const { snapshot } = yield* Ref.get(state)
          const written = yield* store.write(id, { ...next(snapshot), fence: mine }, snapshot.revision).pipe(
            Effect.result
          )
          if (written._tag === "Success") {
            yield* Ref.update(state, (s) => ({ ...s, snapshot: written.success }))
            return written.success
          }
          if (written.failure._tag === "KvError") return yield* written.failure
          const latest = yield* store.read(id)
          if (checkFence(latest.state, mine) === "deposed") return yield* depose(latest.state.fence)
          yield* Ref.update(state, (s) => ({ ...s, snapshot: latest }))
        }
        return yield* unavailable("the provider's state kept changing under this leader")
      }))

    const broadcast = (token: Token) =>
      nats.publish(subjects.updates(id), tokenUpdate(token)).pipe(
        Effect.catch((error) =>
          Effect.logWarning("broadcast failed; replicas will read KV").pipe(Effect.annotateLogs({ error: error.message }))
        )
      )

    const trip = Effect.fnUntraced(function*(reason: string) {
      const now = yield* Clock.currentTimeMillis
      const { provider } = yield* Ref.get(state)
      yield* write((s) => ({ ...s.state, breaker: { reason, since: now, fingerprint: fingerprint(provider) } }))
      yield* Effect.logError(
        `the upstream rejected the credentials of ${id}: ${reason}. No more tokens will be minted for it ` +
          `until its secret or configuration changes, or an operator runs \`tokenbus reset ${id}\`.`
      )
      return yield* new CredentialsRejected({ provider: id, since: now, message: `credentials rejected: ${reason}` })
    })

    /** While the breaker holds, only a changed secret or configuration, or an operator, lets a mint through. */
    const checkBreaker = Effect.fnUntraced(function*(reason: MintReason) {
      const breaker = (yield* Ref.get(state)).snapshot.state.breaker
      if (breaker === undefined) return
      const resolved = yield* configured.reload().pipe(
        Effect.tapError((error) =>
          Effect.logWarning("cannot read the provider's secret").pipe(Effect.annotateLogs({ error: error.message }))
        ),
        Effect.orElseSucceed(() => configured)
      )
      if (fingerprint(resolved) === breaker.fingerprint && reason !== "operator") {
        return yield* new CredentialsRejected({
          provider: id,
          since: breaker.since,
          message: `credentials rejected: ${breaker.reason}; fix the secret or configuration, or run \`tokenbus reset ${id}\``
        })
      }
      yield* Ref.update(state, (s) => ({ ...s, provider: resolved, minter: makeMinter(resolved) }))
      yield* write((s) => withoutBreaker(s.state))
      yield* Effect.logInfo(reason === "operator" ? "operator reset the circuit breaker" : "credentials changed; minting again")
    })

    /** No budget left: tell the waiting consumers what they can have now, then wait. */
    const waitForBudget = Effect.fnUntraced(function*(until: number, answer: Deferred.Deferred<Answer, ProtocolError>) {
      const { snapshot } = yield* Ref.get(state)
      const expected = new Date(until).toISOString()
      yield* snapshot.token === undefined
        ? Deferred.fail(answer, unavailable(`the upstream's rate budget is spent; a token is expected at ${expected}`))
        : Deferred.succeed(answer, { token: snapshot.token, renewalExpectedAt: until })
      yield* Effect.logWarning("mint waits for the rate budget").pipe(Effect.annotateLogs({ until: expected }))
      yield* Effect.sleep(Math.max(0, until - (yield* Clock.currentTimeMillis)))
    })

    const commit = Effect.fnUntraced(function*(minted: MintedToken, reason: MintReason) {
      const now = yield* Clock.currentTimeMillis
      const written = yield* write((s) => ({
        ...s.state,
        token: recordOf(minted, now, reason),
        ...(minted.carry === undefined ? {} : { carry: minted.carry })
      }))
      const token = written.token as Token
      cache.offer(token)
      yield* broadcast(token)
      yield* Effect.logInfo("minted and committed a token").pipe(Effect.annotateLogs({ version: token.version, reason }))
      return token
    })

    /** One mint: budget, upstream call, retries, commit. Answers `answer`, possibly early. */
    const mintCycle = Effect.fnUntraced(function*(reason: MintReason, answer: Deferred.Deferred<Answer, ProtocolError>) {
      const { rateLimit, retry } = policy
      let attempts = 0
      while (true) {
        yield* checkBreaker(reason)
        const now = yield* Clock.currentTimeMillis
        const { minter, snapshot } = yield* Ref.get(state)
        const grant = take(rateLimit, snapshot.state.budget, now)
        if (grant._tag === "Wait") {
          yield* waitForBudget(grant.until, answer)
          continue
        }
        // The spend is recorded before the call: a leader dying mid-call must not hand on a full budget.
        yield* write((s) => ({ ...s.state, budget: grant.state }))
        attempts++
        yield* guard
        const minted = yield* minter.mint({ carry: snapshot.state.carry }).pipe(Effect.result)
        if (minted._tag === "Success") {
          const token = yield* commit(minted.success, reason)
          return yield* Deferred.succeed(answer, { token })
        }
        const error = minted.failure
        yield* Effect.logWarning("upstream call failed").pipe(
          Effect.annotateLogs({ kind: error.kind, attempt: attempts, error: error.message })
        )
        if (error.kind === "credentials-rejected") return yield* trip(error.message)
        if (error.kind === "refused" || attempts >= retry.attempts) {
          return yield* unavailable(`${error.message} (after ${attempts} attempt${attempts === 1 ? "" : "s"})`)
        }
        if (error.kind === "rate-limited") {
          const at = yield* Clock.currentTimeMillis
          const until = at + (error.retryAfterMillis ?? rateLimit.windowMillis / rateLimit.tokens)
          yield* write((s) => ({ ...s.state, budget: block(rateLimit, s.state.budget, at, until) }))
        } else {
          yield* Effect.sleep(backoffDelay(retry, attempts, yield* Random.next))
        }
      }
    })

    const toProtocolError = (cause: Exit.Exit<unknown, unknown>): ProtocolError => {
      if (Exit.isFailure(cause)) {
        const failure = cause.cause.reasons.find((reason) => reason._tag === "Fail")
        const error = failure?._tag === "Fail" ? failure.error : undefined
        if (error instanceof CredentialsRejected || error instanceof TokenUnavailable) return error
        if (error instanceof Error) return unavailable(error.message)
      }
      return unavailable("the leader stopped while minting")
    }

    /** Starts a mint in the leader's scope, so a requester giving up does not abandon it half-way. */
    const startMint = (reason: MintReason, answer: Deferred.Deferred<Answer, ProtocolError>) =>
      mintCycle(reason, answer).pipe(
        Effect.onExit((exit) =>
          Ref.update(state, (s) => ({ ...s, minting: undefined })).pipe(
            Effect.andThen(Exit.isSuccess(exit) ? Effect.void : Deferred.fail(answer, toProtocolError(exit)))
          )
        ),
        Effect.ignore,
        Effect.forkIn(scope)
      )

    /** A token minted because of a 401, itself reported 401 this soon: minting again would not help. */
    const rejectedAtOnce = Effect.fnUntraced(function*(request: MintRequest, current: Token | undefined) {
      if (request._tag !== "Unauthorized" || current === undefined || current.reason !== "unauthorized-report") {
        return false
      }
      return (yield* Clock.currentTimeMillis) - current.issuedAt < policy.circuitBreaker.freshTokenMillis
    })

    const reload = store.read(id).pipe(
      Effect.flatMap((latest) =>
        checkFence(latest.state, mine) === "deposed"
          ? depose(latest.state.fence)
          : Ref.update(state, (s) =>
            (latest.revision ?? 0) > (s.snapshot.revision ?? 0) ? { ...s, snapshot: latest } : s)
      )
    )

    const serve = (
      request: MintRequest,
      reason: MintReason,
      reloaded = false
    ): Effect.Effect<Answer, ProtocolError> =>
      Effect.gen(function*() {
        const fresh = yield* Deferred.make<Answer, ProtocolError>()
        const [decision, before] = yield* Ref.modify(
          state,
          (s): readonly [readonly [MintDecision, LeaderState], LeaderState] => {
            const current = s.snapshot.token?.version
            const decision = decideMint({ current, inFlight: s.minting !== undefined }, request)
            return [[decision, s], decision === "mint" ? { ...s, minting: fresh } : s]
          }
        )
        const current = before.snapshot.token
        if (decision === "join-in-flight" && before.minting !== undefined) return yield* Deferred.await(before.minting)
        if (decision === "reload" && !reloaded) {
          yield* reload.pipe(Effect.mapError((error) => unavailable(error.message)))
          return yield* serve(request, reason, true)
        }
        if (decision !== "mint" && current !== undefined) return { token: current }
        if (yield* rejectedAtOnce(request, current)) {
          yield* Ref.update(state, (s) => ({ ...s, minting: undefined }))
          return yield* trip(`the token minted after a 401 (version ${current?.version}) was itself refused at once`).pipe(
            Effect.mapError((error) => error._tag === "CredentialsRejected" ? error : unavailable(error.message))
          )
        }
        yield* startMint(reason, fresh)
        return yield* Deferred.await(fresh)
      })

    /**
     * Renews the token when its lifecycle says so: each token's moment is
     * drawn once (with jitter), and a renewal is an ordinary mint, so it joins
     * a mint under way and waits for the rate budget like any other.
     */
    const renewOnSchedule = (lifecycle: Lifecycle) =>
      Effect.gen(function*() {
        let planned: { readonly version: number; readonly dueAt: number | undefined } | undefined
        while (true) {
          const token = (yield* Ref.get(state)).snapshot.token
          if (token !== undefined && planned?.version !== token.version) {
            planned = { version: token.version, dueAt: renewalDueAt(lifecycle, token, yield* Random.next) }
          }
          const now = yield* Clock.currentTimeMillis
          if (planned?.dueAt !== undefined && now >= planned.dueAt) {
            yield* serve({ _tag: "Proactive", version: planned.version }, "proactive").pipe(
              Effect.catch((error) =>
                Effect.logWarning("proactive renewal failed").pipe(Effect.annotateLogs({ error: error.message }))
              )
            )
          }
          const wait = planned?.dueAt === undefined ? renewalTickMillis : planned.dueAt - now
          yield* Effect.sleep(Math.max(100, Math.min(renewalTickMillis, wait)))
        }
      })

    /** A static token's file changed: commit what it holds now. */
    const followFile = (provider: Extract<ResolvedProvider, { readonly kind: "static" }>, held: Token | undefined) =>
      StaticToken.changes(provider, held?.accessToken).pipe(
        Stream.runForEach(() =>
          serve({ _tag: "Operator" }, "operator").pipe(
            Effect.catch((error) =>
              Effect.logWarning("the static token changed but cannot be read").pipe(
                Effect.annotateLogs({ error: error.message })
              )
            )
          )
        )
      )

    const answer = (message: InboundMessage) =>
      decodeMintRequest(message.string()).pipe(
        Effect.mapError((error) => new InvalidRequest({ message: `malformed mint request: ${error.message}` })),
        Effect.flatMap((request) => serve(requestOf(request), request.reason)),
        Effect.match({ onFailure: errorReply, onSuccess: answerReply }),
        Effect.flatMap((reply) => Effect.sync(() => message.respond(reply)))
      )

    // The fence first: nothing else this leader does may interleave with an older leader's writes.
    const fenced = yield* write((s) => s.state).pipe(Effect.result)
    if (fenced._tag === "Failure") {
      return yield* Effect.logError("cannot fence the provider; stepping down").pipe(
        Effect.annotateLogs({ error: fenced.failure.message })
      )
    }

    yield* nats.serve(subjects.mint(id), {}, answer)
    const { snapshot } = yield* Ref.get(state)
    if (snapshot.token !== undefined) {
      yield* Effect.logInfo("adopted the stored token").pipe(Effect.annotateLogs({ version: snapshot.token.version }))
      cache.offer(snapshot.token)
      // Re-broadcast: a previous leader may have committed and died before publishing.
      yield* broadcast(snapshot.token)
    } else if (snapshot.state.breaker !== undefined) {
      yield* Effect.logWarning("the circuit breaker is open; no initial mint").pipe(
        Effect.annotateLogs({ reason: snapshot.state.breaker.reason })
      )
    } else {
      yield* serve({ _tag: "Ensure" }, "initial").pipe(
        Effect.catch((error) => Effect.logError("initial mint failed").pipe(Effect.annotateLogs({ error: error.message }))),
        Effect.forkIn(scope)
      )
    }
    const lifecycle = lifecycleOf(configured)
    if (lifecycle.mode === "proactive") yield* renewOnSchedule(lifecycle).pipe(Effect.forkIn(scope))
    if (configured.kind === "static") yield* followFile(configured, snapshot.token).pipe(Effect.forkIn(scope))
    return yield* Deferred.await(stepDown)
  }).pipe(Effect.annotateLogs({ provider: deps.provider.id, role: "leader", term }))
