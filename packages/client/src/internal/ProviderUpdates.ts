/**
 * The updates a client follows: one subscription per provider it has asked
 * for (`<prefix>.token.<provider>.updates`), not one to every provider's, so
 * a consumer whose NATS permissions allow only some providers' subjects
 * needs no wildcard. The subscription is made before the first request for
 * its provider leaves, on the same connection, so NATS has it before any
 * replica sees the request: no update committed after the reply is missed.
 * Each update is offered to the cache, which drops what does not verify.
 *
 * A subscription NATS refuses (the client's user may not subscribe to the
 * provider's updates) would leave the client holding a token it never hears
 * is replaced. NATS answers the refusal before the reply to the request sent
 * after it, so the request fails with `NotPermitted`, naming the subject, and
 * a bounded warning says so to whoever reads the logs. Until a subscription
 * is no longer refused (permissions can change), the provider is `refused`:
 * its token is not handed out. Each attempt subscribes in a scope of its own,
 * closed when refused, so a long-lived client that keeps asking holds nothing
 * for its refusals; and it subscribes again at most once per `retryDeniedMillis`:
 * in between, a request fails at once with the refusal it last had.
 */
import type { RecordDrop, Subjects, TokenCache } from "@tokenbus/core"
import { boundedWarning } from "@tokenbus/core"
import type { NatsConnection } from "@tokenbus/nats"
import { Clock, Effect, Exit, Option, Predicate, Scope } from "effect"
import { type NotPermitted, updatesNotPermitted } from "../NotPermitted.ts"

export interface ProviderUpdatesOptions {
  readonly nats: NatsConnection["Service"]
  readonly subjects: Subjects
  readonly cache: TokenCache
  /** Told of every provider whose token the cache keeps from an update. */
  readonly kept: (provider: string) => void
  readonly dropped: RecordDrop
}

/** How long a refused provider fails at once before a request subscribes again (permissions may have changed). */
export const retryDeniedMillis = 10_000

export const deniedUpdatesMessage =
  "NATS refused this client's subscription to a provider's updates: its token is not kept current; " +
  "allow the NATS user that subject (docs/permissions.md)"

/** A warning line: the subject refused, and how many times since the last line. */
interface DeniedLine {
  readonly subject: string
  readonly provider: string
  readonly refusals: number
}

/**
 * Follows `provider`'s updates while running `ask`, the request that needs
 * them: what `ask` gives, or `NotPermitted` when NATS refused the subscription.
 */
export type Following = <A, E>(provider: string, ask: Effect.Effect<A, E>) => Effect.Effect<A, E | NotPermitted>

/** The request's own refusal (its subject, its inbox), when that is how `exit` failed. */
const ownRefusal = <A, E>(exit: Exit.Exit<A, E>): Option.Option<NotPermitted> =>
  Option.filter(
    Exit.findErrorOption(exit),
    (error): error is E & NotPermitted => Predicate.isTagged(error, "NotPermitted")
  )

/** A provider's last refusal: when it was seen, and the error a request fails with until it is retried. */
interface Refusal {
  readonly at: number
  readonly error: NotPermitted
}

/** Each provider's subscription attempt in a scope of its own, so a refused one is released whole. */
const makeAttempts = (scope: Scope.Scope) => {
  const open = new Map<string, Scope.Closeable>()
  return {
    /** A scope for a new attempt; one left open by a request interrupted before it settled is closed first. */
    start: (provider: string) =>
      Effect.gen(function*() {
        const stale = open.get(provider)
        if (stale !== undefined) yield* Scope.close(stale, Exit.void)
        const attempt = yield* Scope.fork(scope)
        open.set(provider, attempt)
        return attempt
      }),
    /** The attempt was allowed: its scope lasts as long as the client's. */
    kept: (provider: string) => void open.delete(provider),
    /** The attempt was refused: what it holds is released now. */
    release: (provider: string) =>
      Effect.suspend(() => {
        const attempt = open.get(provider)
        open.delete(provider)
        return attempt === undefined ? Effect.void : Scope.close(attempt, Exit.void)
      })
  }
}

/**
 * Makes the `Following`, whose subscriptions last as long as the calling
 * scope, and `refused`, whether a provider's last subscription was refused.
 */
export const makeProviderUpdates = ({ cache, dropped, kept, nats, subjects }: ProviderUpdatesOptions) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    // One kind per subject: a client asks for a handful of providers, each named on its own line.
    const denials = yield* boundedWarning<{ readonly subject: string; readonly provider: string }, DeniedLine>({
      periodMillis: 10_000,
      add: (line, { provider, subject }) => ({ subject, provider, refusals: (line?.refusals ?? 0) + 1 }),
      write: (line) => Effect.logWarning(deniedUpdatesMessage).pipe(Effect.annotateLogs({ ...line }))
    })
    const followed = new Set<string>()
    const attempts = makeAttempts(scope)
    /** The providers whose last subscription NATS refused. */
    const refusals = new Map<string, Refusal>()

    /** Subscribes to `provider`'s updates in a scope of its own; nothing to do when it is followed already. */
    const follow = (provider: string): Effect.Effect<void> => {
      if (followed.has(provider)) return Effect.void
      followed.add(provider)
      const onDenied = () => {
        followed.delete(provider)
        denials.recordUnsafe(subjects.updates(provider), { subject: subjects.updates(provider), provider })
      }
      const subscribe = nats.subscribe(subjects.updates(provider), { onDenied }, (message) => {
        const offered = cache.offerUpdate(provider, message.string())
        if (offered === "kept") kept(provider)
        else if (offered !== "stale") dropped(offered, provider)
      })
      return Effect.flatMap(attempts.start(provider), (attempt) => Scope.provide(subscribe, attempt))
    }

    /** After `ask`: a subscription found allowed is kept; one found refused releases its scope, and is remembered. */
    const settle = <A, E>(provider: string, exit: Exit.Exit<A, E>): Effect.Effect<A, E | NotPermitted> =>
      Effect.gen(function*() {
        if (followed.has(provider)) {
          attempts.kept(provider)
          refusals.delete(provider)
          return yield* exit
        }
        yield* attempts.release(provider)
        // The request's own refusal (its subject, its inbox) says more: a provider not allowed at all.
        const updates = () => updatesNotPermitted(provider, subjects.updates(provider))
        const error = Option.getOrElse(ownRefusal(exit), updates)
        refusals.set(provider, { at: yield* Clock.currentTimeMillis, error })
        return yield* (Exit.hasInterrupts(exit) ? exit : Effect.fail(error))
      })

    // A refusal takes `provider` out of `followed`; NATS sends it before the answer to `ask`.
    const following: Following = <A, E>(provider: string, ask: Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const refusal = refusals.get(provider)
        if (refusal !== undefined && !followed.has(provider)) {
          const now = yield* Clock.currentTimeMillis
          if (now - refusal.at < retryDeniedMillis) return yield* Effect.fail(refusal.error)
        }
        yield* follow(provider)
        return yield* settle(provider, yield* Effect.exit(ask))
      })

    return { following, refused: (provider: string) => refusals.has(provider) }
  })
