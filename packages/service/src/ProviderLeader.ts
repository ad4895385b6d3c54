/**
 * What the leader of one provider does while it holds the lock: adopt the
 * token already in KV (a failover must not spend the upstream's rate budget),
 * mint when there is none, and answer replicas' mint requests with
 * single-flight, so a storm of 401 reports costs one upstream call.
 *
 * Every commit is a compare-and-set against the revision the leader holds,
 * made only while the lease guard passes; a leader that was deposed while an
 * upstream call was under way cannot overwrite its successor's token.
 */
import {
  decideMint,
  type MintDecision,
  MintRequestJson,
  type MintReason,
  type MintRequest,
  type Subjects,
  type Token,
  TokenCache,
  TokenUnavailable
} from "@tokenbus/core"
import { type InboundMessage, NatsConnection } from "@tokenbus/nats"
import { Clock, Deferred, Effect, Exit, Ref, Schedule, Schema, type Scope } from "effect"
import { errorReply, tokenReply, tokenUpdate } from "./internal/replies.ts"
import type { LeadershipGuard } from "./LeaderLock.ts"
import type { Minter } from "./Minter.ts"
import type { TokenStore } from "./TokenStore.ts"

export interface ProviderLeaderDeps {
  readonly provider: string
  readonly minter: Minter
  readonly store: TokenStore
  readonly subjects: Subjects
  readonly cache: TokenCache
}

interface LeaderState {
  readonly current: Token | undefined
  /** The KV revision to compare against on the next commit. */
  readonly revision: number | undefined
  readonly inFlight: Deferred.Deferred<Token, TokenUnavailable> | undefined
}

const decodeMintRequest = Schema.decodeUnknownEffect(MintRequestJson)

export const lead = (deps: ProviderLeaderDeps) =>
(guard: LeadershipGuard): Effect.Effect<never, never, Scope.Scope | NatsConnection> =>
  Effect.gen(function*() {
    const nats = yield* NatsConnection
    const { provider, store, subjects, cache } = deps
    const unavailable = (message: string) => new TokenUnavailable({ provider, message })

    const stored = yield* store.read(provider).pipe(
      Effect.retry(Schedule.max([Schedule.spaced("200 millis"), Schedule.recurs(10)])),
      Effect.orElseSucceed(() => ({ revision: undefined, token: undefined }))
    )
    const state = yield* Ref.make<LeaderState>({ current: stored.token, revision: stored.revision, inFlight: undefined })
    const scope = yield* Effect.scope

    const broadcast = (token: Token) =>
      nats.publish(subjects.updates(provider), tokenUpdate(token)).pipe(
        Effect.catch((error) => Effect.logWarning("broadcast failed; replicas will read KV", error.message))
      )

    /** Mints and commits against the revision this leader holds. */
    const commitNew = Effect.fnUntraced(function*(reason: MintReason) {
      yield* guard
      const minted = yield* deps.minter.mint({ carry: undefined })
      yield* guard
      const now = yield* Clock.currentTimeMillis
      const { revision } = yield* Ref.get(state)
      const token = yield* store.commit(provider, {
        accessToken: minted.accessToken,
        tokenType: minted.tokenType,
        issuedAt: now,
        reason,
        ...(minted.expiresInSeconds === undefined ? {} : { expiresAt: now + minted.expiresInSeconds * 1000 })
      }, revision)
      yield* Effect.logInfo("minted and committed a token").pipe(Effect.annotateLogs({ version: token.version, reason }))
      return token
    })

    /**
     * A conflict means KV moved under this leader (a deposed leader's late
     * commit). Adopt what KV holds; if that still does not answer the
     * request, mint once more against the new revision.
     */
    const mintAndCommit = (request: MintRequest, reason: MintReason) =>
      commitNew(reason).pipe(
        Effect.catchTag("KvConflict", () =>
          Effect.gen(function*() {
            yield* Effect.logWarning("the stored token changed under this leader; adopting it")
            const latest = yield* store.read(provider)
            yield* Ref.update(state, (s) => ({ ...s, current: latest.token, revision: latest.revision }))
            const current = latest.token?.version
            if (latest.token !== undefined && decideMint({ current, inFlight: false }, request) === "serve-current") {
              return latest.token
            }
            return yield* commitNew(reason)
          }))
      )

    const settle = (mine: Deferred.Deferred<Token, TokenUnavailable>) => (exit: Exit.Exit<Token, TokenUnavailable>) =>
      Effect.gen(function*() {
        yield* Ref.update(state, (s) =>
          Exit.isSuccess(exit)
            ? { current: exit.value, revision: exit.value.version, inFlight: undefined }
            : { ...s, inFlight: undefined })
        if (Exit.isSuccess(exit)) {
          cache.offer(exit.value)
          yield* broadcast(exit.value)
        }
        yield* Deferred.done(mine, exit)
      })

    /** Re-reads KV, keeping whichever of it and the leader's state is newer. */
    const reload = store.read(provider).pipe(
      Effect.flatMap((latest) =>
        Ref.update(state, (s) =>
          latest.revision !== undefined && latest.revision > (s.revision ?? 0)
            ? { ...s, current: latest.token, revision: latest.revision }
            : s)
      ),
      Effect.mapError((error) => unavailable(error.message))
    )

    const serve = (
      request: MintRequest,
      reason: MintReason,
      reloaded = false
    ): Effect.Effect<Token, TokenUnavailable> =>
      Effect.gen(function*() {
        const mine = yield* Deferred.make<Token, TokenUnavailable>()
        const [decision, before] = yield* Ref.modify(
          state,
          (s): readonly [readonly [MintDecision, LeaderState], LeaderState] => {
            const decision = decideMint({ current: s.current?.version, inFlight: s.inFlight !== undefined }, request)
            return [[decision, s], decision === "mint" ? { ...s, inFlight: mine } : s]
          }
        )
        if (decision === "join-in-flight" && before.inFlight !== undefined) return yield* Deferred.await(before.inFlight)
        if (decision === "reload" && !reloaded) return yield* reload.pipe(Effect.andThen(serve(request, reason, true)))
        if (decision !== "mint" && before.current !== undefined) return before.current
        // The mint runs in the leader's scope, so a requester giving up does not abandon it half-way.
        yield* mintAndCommit(request, reason).pipe(
          Effect.mapError((error) => unavailable(error.message)),
          Effect.onExit(settle(mine)),
          Effect.forkIn(scope)
        )
        return yield* Deferred.await(mine)
      })

    const answer = (message: InboundMessage) =>
      decodeMintRequest(message.string()).pipe(
        Effect.mapError(() => unavailable("malformed mint request")),
        Effect.flatMap((request) =>
          request.reason === "unauthorized-report" && request.failedVersion !== undefined
            ? serve({ _tag: "Unauthorized", version: request.failedVersion }, "unauthorized-report")
            : serve({ _tag: "Ensure" }, "initial")
        ),
        Effect.match({ onFailure: errorReply, onSuccess: tokenReply }),
        Effect.flatMap((reply) => Effect.sync(() => message.respond(reply)))
      )

    yield* nats.serve(subjects.mint(provider), {}, answer)

    if (stored.token === undefined) {
      yield* serve({ _tag: "Ensure" }, "initial").pipe(
        Effect.catch((error) => Effect.logError("initial mint failed", error.message))
      )
    } else {
      yield* Effect.logInfo("adopted the stored token").pipe(Effect.annotateLogs({ version: stored.token.version }))
      cache.offer(stored.token)
      // Re-broadcast: a previous leader may have committed and died before publishing.
      yield* broadcast(stored.token)
    }
    return yield* Effect.never
  }).pipe(Effect.annotateLogs({ provider: deps.provider, role: "leader" }))
