/**
 * What the leader of one provider does while it leads it (Assignment.ts).
 *
 * It first writes its fence into the provider's state in KV (see
 * leadership/FencedState.ts): from then on any write by an earlier leader
 * fails, and that leader steps down. Then it adopts the stored token (a
 * failover must not spend the upstream's rate budget) or mints one, answers
 * replicas' mint requests through the single flight (SingleFlight.ts), so a
 * storm of 401 reports costs one upstream call, and renews on schedule when
 * the provider's lifecycle says so (RenewalSchedule.ts). Each mint goes
 * through MintCycle.ts: circuit breaker, rate budget, upstream call, retries,
 * fenced commit.
 */
import {
  type MintRequest,
  MintRequestJson,
  type MintRequestMessage,
  type ProviderState,
  rebuildLostState,
  type Token
} from "@tokenbus/core"
import { type InboundMessage, NatsConnection } from "@tokenbus/nats"
import { Clock, Context, Deferred, Effect, Layer, Option, Schedule, type Scope } from "effect"
import type { ConfiguredProvider } from "../config/ConfiguredProvider.ts"
import { makeFencedState } from "../leadership/FencedState.ts"
import type { LeadershipGuard } from "../leadership/LeaderLock.ts"
import { ReplicaMetrics } from "../observe/ReplicaMetrics.ts"
import { makeRefusalLog, type RefusalLog } from "../replica/RefusalLog.ts"
import { errorReply, type Replies } from "../replica/Replies.ts"
import { ReplicaContext } from "../replica/ReplicaContext.ts"
import { decodeRequest } from "../replica/RequestPayload.ts"
import { type Snapshot, TokenStore } from "../store/TokenStore.ts"
import { type FifoLimit, makeFifoLimit } from "../leadership/internal/FifoLimit.ts"
import { retryWhileKvUnavailable } from "../leadership/internal/retryWhileKvUnavailable.ts"
import { warnIfSlow } from "./internal/warnIfSlow.ts"
import { MintCycle } from "./MintCycle.ts"
import { followWatch, renewOnSchedule } from "./RenewalSchedule.ts"
import { makeSingleFlight, type Serve } from "./SingleFlight.ts"

export class ProviderLeader extends Context.Service<ProviderLeader, {
  /**
   * What this replica runs while it leads `provider`, in term `term`: until it is deposed, interrupted, or
   * `retire` completes and no mint is under way.
   */
  readonly lead: (
    provider: ConfiguredProvider
  ) => (
    guard: LeadershipGuard,
    term: number,
    retire: Deferred.Deferred<void>,
    read: Snapshot | undefined
  ) => Effect.Effect<void, never, Scope.Scope>
}>()("@tokenbus/service/ProviderLeader") {
  static readonly layer: Layer.Layer<ProviderLeader, never, NatsConnection | ReplicaContext | TokenStore | MintCycle> =
    Layer.effect(
      ProviderLeader,
      Effect.gen(function*() {
        // Handed to each leadership as values, not provided as a context: providing one makes a context per
        // provider led, about 2 KiB each, and the Scope a leader runs in must stay its leadership's anyway.
        const services: Services = {
          nats: yield* NatsConnection,
          replica: yield* ReplicaContext,
          store: yield* TokenStore,
          mintCycle: yield* MintCycle,
          // Taking providers over is bounded: a replica given thousands at once (a cluster starting, a member
          // lost) must keep its event loop free for its own lease renewals and NATS for everyone's.
          takeovers: yield* makeFifoLimit(takeoverConcurrency),
          // One log shared by every provider led: a flood of bad requests costs lines per replica, not per provider.
          refusals: yield* makeRefusalLog()
        }
        return {
          lead: (provider) => (guard, term, retire, read) =>
            lead({ configured: provider, guard, term, retire, read, services })
        }
      })
    )
}

const decodeMintRequest = decodeRequest(MintRequestJson, "mint request")

/** How many providers one replica takes over at a time (read, fence, adopt or start the first mint). */
const takeoverConcurrency = 32

/** A takeover takes milliseconds, a first mint seconds: past these, a line says what it still waits for. */
const slowTakeoverMillis = 10_000
const slowFirstMintMillis = 60_000

/**
 * How old the state read while waiting for the previous leader may be when the takeover's turn comes: older,
 * it is read again, so that what a bucket made again meanwhile lost is rebuilt from this replica's cache as
 * a fresh read would, not written back from the old read.
 */
const freshReadMillis = 2_000

/** What every leadership of this replica shares. */
interface Services {
  readonly nats: NatsConnection["Service"]
  readonly replica: ReplicaContext["Service"]
  readonly store: TokenStore["Service"]
  readonly mintCycle: MintCycle["Service"]
  readonly takeovers: FifoLimit
  /** Malformed mint requests, logged at a bounded rate. */
  readonly refusals: RefusalLog
}

interface Leadership {
  readonly services: Services
  readonly configured: ConfiguredProvider
  readonly guard: LeadershipGuard
  readonly term: number
  readonly retire: Deferred.Deferred<void>
  /**
   * The state as read while waiting for the previous leader (Assignment.ts): the fence's compare-and-set tells
   * if it changed since. Read again when the takeover waited long for its turn (`freshReadMillis`).
   */
  readonly read: Snapshot | undefined
}

/** Logged when a leader rebuilds a lost state: the next mint waits out one budget window. */
export const stateLostMessage = "the provider's state in KV was lost; adopted the token this replica holds, " +
  "and the next upstream call waits one rate-limit window, since the calls of the last one are unknown"

const requestOf = (message: MintRequestMessage): MintRequest =>
  message.reason === "operator"
    ? { _tag: "Operator" }
    : message.reason === "unauthorized-report" && message.failedVersion !== undefined
    ? { _tag: "Unauthorized", version: message.failedVersion }
    : { _tag: "Ensure" }

const logFailure = (message: string) => (error: { readonly message: string }) =>
  Effect.logWarning(message).pipe(Effect.annotateLogs({ error: error.message }))

/** A malformed request is logged through `refusals`, at a bounded rate; the replica that asked logs other refusals. */
const answer = (serve: Serve, refusals: RefusalLog, replies: Replies, message: InboundMessage) =>
  decodeMintRequest(message).pipe(
    Effect.tapError((error) => refusals.refused({ endpoint: "mint", subject: message.subject, error })),
    Effect.flatMap((request) => serve(requestOf(request), request.reason)),
    Effect.match({ onFailure: errorReply, onSuccess: replies.answerReply }),
    Effect.flatMap((reply) => Effect.sync(() => message.respond(reply)))
  )

/**
 * Fences the provider, serves its mint requests, and adopts its token or
 * starts its first mint; undefined when it could not (the line says why).
 */
const takeOver = (
  { configured, guard, read, services, term }: Leadership,
  phase: (name: string) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const { mintCycle, nats, store } = services
    const { cache, replicaId, replies, subjects } = services.replica
    const id = configured.id
    const scope = yield* Effect.scope

    yield* phase("reading its state")
    const initial = read !== undefined ? Option.some(read) : yield* store.read(id).pipe(
      Effect.retry(Schedule.max([Schedule.spaced("200 millis"), Schedule.recurs(10)])),
      Effect.option
    )
    if (initial._tag === "None") {
      return yield* Effect.as(Effect.logError("cannot read the provider's state; stepping down"), undefined)
    }
    const state = yield* makeFencedState({ provider: id, store, fence: { holder: replicaId, term }, guard, initial: initial.value })
    const broadcast = (token: Token) =>
      nats.publish(subjects.updates(id), replies.tokenUpdate(token)).pipe(
        Effect.catch(logFailure("broadcast failed; replicas will read KV"))
      )
    const cycle = yield* mintCycle.make({ configured, state, guard, cache, broadcast })
    const serve = yield* makeSingleFlight({ configured, state, cycle, scope })

    // The fence first: nothing else this leader does may interleave with an older leader's writes.
    // A bucket without a stream leader (a NATS server lost) takes writes again after an election: keep
    // trying while the lease holds, rather than step down and churn through elections meanwhile.
    const now = yield* Clock.currentTimeMillis
    const held = cache.get(id)
    // KV lost the state (the tokens bucket was deleted and created again) but this replica holds the token:
    // adopt it, assuming the worst of what else was lost, rather than mint (see LostState.ts in core).
    let rebuilt = false
    const rebuild = (stored: ProviderState): ProviderState => {
      rebuilt = stored.token === undefined && held !== undefined
      return !rebuilt || held === undefined ? stored : {
        ...stored,
        ...rebuildLostState({
          token: held,
          limit: configured.rateLimit,
          policy: configured.lostAnswer,
          now,
          fence: { holder: replicaId, term }
        })
      }
    }
    yield* phase("fencing it")
    const fenced = yield* state.write((s) => rebuild(s.state)).pipe(
      retryWhileKvUnavailable("fencing the provider"),
      Effect.result
    )
    if (fenced._tag === "Failure") {
      return yield* Effect.logError("cannot fence the provider; stepping down").pipe(
        Effect.annotateLogs({ error: fenced.failure.message }),
        Effect.as(undefined)
      )
    }

    yield* phase("subscribing to its mint requests")
    yield* nats.serve(subjects.mint(id), {}, (message) => answer(serve, services.refusals, replies, message))
    const metrics = yield* ReplicaMetrics
    metrics.leading(id, term)
    yield* Effect.addFinalizer(() => Effect.sync(() => metrics.notLeading(id)))
    const { state: stored, token } = fenced.success
    if (rebuilt && held !== undefined && token?.version === held.version) {
      yield* Effect.logWarning(stateLostMessage).pipe(
        Effect.annotateLogs({ version: held.version, windowMillis: configured.rateLimit.windowMillis })
      )
    }
    if (token !== undefined) {
      yield* Effect.logInfo("adopted the stored token").pipe(Effect.annotateLogs({ version: token.version }))
      cache.offer(token)
      // Published again unless this replica kept it from the bus: the leader that committed it may have died
      // before publishing it.
      if (!services.replica.heard.published(id, token.version)) yield* broadcast(token)
    } else if (stored.breaker !== undefined) {
      yield* Effect.logWarning("the circuit breaker is open; no initial mint").pipe(
        Effect.annotateLogs({ reason: stored.breaker.reason })
      )
    } else {
      yield* serve({ _tag: "Ensure" }, "initial").pipe(
        warnIfSlow(slowFirstMintMillis, "the first mint has not ended yet"),
        Effect.catch(logFailure("initial mint failed")),
        Effect.forkIn(scope)
      )
    }
    return { state, serve }
  })

const lead = (leadership: Leadership) =>
  Effect.gen(function*() {
    const { configured, retire } = leadership
    const { takeovers } = leadership.services
    // A takeover that waited its turn while the provider moved away again is not made: it would race the
    // member the provider went to (and may call the upstream for a token that member then mints again).
    // Timed from its turn, not from joining the line: at a start thousands wait, and one line each would cost
    // what the takeovers do.
    let phase = "reading its state"
    const enter = (name: string) => Effect.sync(() => void (phase = name))
    const queuedAt = yield* Clock.currentTimeMillis
    const takeOverNow = Effect.gen(function*() {
      const waited = (yield* Clock.currentTimeMillis) - queuedAt
      const read = waited < freshReadMillis ? leadership.read : undefined
      return yield* takeOver({ ...leadership, read }, enter).pipe(
        warnIfSlow(slowTakeoverMillis, "taking the provider over is slow", () => phase)
      )
    })
    const taken = yield* takeovers.withPermit(
      Effect.flatMap(Deferred.isDone(retire), (moved) => (moved ? Effect.succeed(undefined) : takeOverNow))
    )
    if (taken === undefined) return
    const { serve, state } = taken
    const scope = yield* Effect.scope
    if (configured.lifecycle.mode === "proactive") {
      yield* renewOnSchedule(state, serve, configured.lifecycle).pipe(Effect.forkIn(scope))
    }
    if (configured.watches !== false) yield* followWatch(configured, serve, state).pipe(Effect.forkIn(scope))
    // Handing over: the mint under way ends here, then the released fence tells the next leader to go ahead.
    const handOver = Deferred.await(retire).pipe(
      Effect.andThen(serve.idle),
      Effect.andThen(state.release),
      Effect.catch((error) => Effect.logWarning("could not mark the provider handed over").pipe(
        Effect.annotateLogs({ error: error.message })
      ))
    )
    yield* Effect.raceFirst(state.deposed, handOver)
  }).pipe(Effect.annotateLogs({ provider: leadership.configured.id, role: "leader", term: leadership.term }))
