/**
 * One mint, start to commit: the circuit breaker, the rate budget, the
 * upstream call with its retries and backoff, and the fenced commit.
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
  take,
  type Token,
  type TokenCache,
  TokenUnavailable
} from "@tokenbus/core"
import { Clock, Deferred, Effect, Random, Ref } from "effect"
import type { LeadershipGuard } from "../LeaderLock.ts"
import { type MintedToken, type Minter, makeMinter } from "../Minter.ts"
import type { ConfiguredProvider, ResolvedProvider } from "../ServiceConfig.ts"
import type { FencedState } from "./FencedState.ts"
import { fingerprint } from "./fingerprint.ts"
import type { Answer } from "./replies.ts"

export interface MintCycleDeps {
  readonly configured: ConfiguredProvider
  readonly state: FencedState
  readonly guard: LeadershipGuard
  readonly cache: TokenCache
  readonly broadcast: (token: Token) => Effect.Effect<void>
}

const recordOf = (minted: MintedToken, now: number, reason: MintReason): StoredToken => ({
  accessToken: minted.accessToken,
  tokenType: minted.tokenType,
  issuedAt: now,
  reason,
  ...(minted.expiresInSeconds === undefined ? {} : { expiresAt: now + minted.expiresInSeconds * 1000 })
})

export const makeMintCycle = Effect.fnUntraced(function*(deps: MintCycleDeps) {
  const { cache, configured, guard, state } = deps
  const id = configured.id
  const { rateLimit, retry } = configured
  const unavailable = (message: string) => new TokenUnavailable({ provider: id, message })
  /** The provider as last resolved (secrets rotate) and its minter. */
  const credentials = yield* Ref.make<{ readonly provider: ResolvedProvider; readonly minter: Minter }>({
    provider: configured,
    minter: makeMinter(configured)
  })

  /** Stops all minting until the credentials change or an operator resets the breaker. */
  const trip = Effect.fnUntraced(function*(reason: string) {
    const now = yield* Clock.currentTimeMillis
    const { provider } = yield* Ref.get(credentials)
    yield* state.write((s) => ({ ...s.state, breaker: { reason, since: now, fingerprint: fingerprint(provider) } }))
    yield* Effect.logError(
      `the upstream rejected the credentials of ${id}: ${reason}. No more tokens will be minted for it ` +
        `until its secret or configuration changes, or an operator runs \`tokenbus reset ${id}\`.`
    )
    return yield* new CredentialsRejected({ provider: id, since: now, message: `credentials rejected: ${reason}` })
  })

  /** While the breaker holds, only a changed secret or configuration, or an operator, lets a mint through. */
  const checkBreaker = Effect.fnUntraced(function*(reason: MintReason) {
    const breaker = (yield* state.snapshot).state.breaker
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
    yield* Ref.set(credentials, { provider: resolved, minter: makeMinter(resolved) })
    yield* state.write(({ state: { breaker: _, ...rest } }) => rest)
    yield* Effect.logInfo(reason === "operator" ? "operator reset the circuit breaker" : "credentials changed; minting again")
  })

  /** No budget left: tell the waiting consumers what they can have now, then wait. */
  const waitForBudget = Effect.fnUntraced(function*(until: number, answer: Deferred.Deferred<Answer, ProtocolError>) {
    const { token } = yield* state.snapshot
    const expected = new Date(until).toISOString()
    yield* token === undefined
      ? Deferred.fail(answer, unavailable(`the upstream's rate budget is spent; a token is expected at ${expected}`))
      : Deferred.succeed(answer, { token, renewalExpectedAt: until })
    yield* Effect.logWarning("mint waits for the rate budget").pipe(Effect.annotateLogs({ until: expected }))
    yield* Effect.sleep(Math.max(0, until - (yield* Clock.currentTimeMillis)))
  })

  const commit = Effect.fnUntraced(function*(minted: MintedToken, reason: MintReason) {
    const now = yield* Clock.currentTimeMillis
    const written = yield* state.write((s) => ({
      ...s.state,
      token: recordOf(minted, now, reason),
      ...(minted.carry === undefined ? {} : { carry: minted.carry })
    }))
    const token = written.token as Token
    cache.offer(token)
    yield* deps.broadcast(token)
    yield* Effect.logInfo("minted and committed a token").pipe(Effect.annotateLogs({ version: token.version, reason }))
    return token
  })

  /** The spend is recorded before the call: a leader dying mid-call must not hand on a full budget. */
  const spend = Effect.fnUntraced(function*(answer: Deferred.Deferred<Answer, ProtocolError>) {
    while (true) {
      const grant = take(rateLimit, (yield* state.snapshot).state.budget, yield* Clock.currentTimeMillis)
      if (grant._tag === "Granted") return yield* state.write((s) => ({ ...s.state, budget: grant.state }))
      yield* waitForBudget(grant.until, answer)
    }
  })

  const run = Effect.fnUntraced(function*(reason: MintReason, answer: Deferred.Deferred<Answer, ProtocolError>) {
    for (let attempt = 1;; attempt++) {
      yield* checkBreaker(reason)
      const { state: spent } = yield* spend(answer)
      yield* guard
      const minted = yield* (yield* Ref.get(credentials)).minter.mint({ carry: spent.carry }).pipe(Effect.result)
      if (minted._tag === "Success") return yield* Deferred.succeed(answer, { token: yield* commit(minted.success, reason) })
      const error = minted.failure
      yield* Effect.logWarning("upstream call failed").pipe(Effect.annotateLogs({ kind: error.kind, attempt, error: error.message }))
      if (error.kind === "credentials-rejected") return yield* trip(error.message)
      if (error.kind === "refused" || attempt >= retry.attempts) {
        return yield* unavailable(`${error.message} (after ${attempt} attempt${attempt === 1 ? "" : "s"})`)
      }
      if (error.kind === "rate-limited") {
        const now = yield* Clock.currentTimeMillis
        const until = now + (error.retryAfterMillis ?? rateLimit.windowMillis / rateLimit.tokens)
        yield* state.write((s) => ({ ...s.state, budget: block(rateLimit, s.state.budget, now, until) }))
      } else {
        yield* Effect.sleep(backoffDelay(retry, attempt, yield* Random.next))
      }
    }
  })

  return { run, trip }
})

export type MintCycle = Effect.Success<ReturnType<typeof makeMintCycle>>
