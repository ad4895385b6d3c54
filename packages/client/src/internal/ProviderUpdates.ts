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
 * a bounded warning says so to whoever reads the logs. Until a request finds
 * the subscription no longer refused (permissions can change), the provider
 * is `refused`: its token is not handed out, and every request subscribes again.
 */
import type { RecordDrop, Subjects, TokenCache } from "@tokenbus/core"
import { boundedWarning } from "@tokenbus/core"
import type { NatsConnection } from "@tokenbus/nats"
import { Effect, Exit, Option, Predicate, Scope } from "effect"
import { type NotPermitted, updatesNotPermitted } from "../NotPermitted.ts"

export interface ProviderUpdatesOptions {
  readonly nats: NatsConnection["Service"]
  readonly subjects: Subjects
  readonly cache: TokenCache
  /** Told of every provider whose token the cache keeps from an update. */
  readonly kept: (provider: string) => void
  readonly dropped: RecordDrop
}

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

const refusedItself = <A, E>(exit: Exit.Exit<A, E>): boolean =>
  Option.exists(Exit.findErrorOption(exit), (error) => Predicate.isTagged(error, "NotPermitted"))

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
    /** The providers whose last subscription NATS refused. */
    const refusedProviders = new Set<string>()

    /** Subscribes to `provider`'s updates, once; nothing to do when it is followed already. */
    const follow = (provider: string): Effect.Effect<void> => {
      if (followed.has(provider)) return Effect.void
      followed.add(provider)
      const onDenied = () => {
        followed.delete(provider)
        refusedProviders.add(provider)
        denials.recordUnsafe(subjects.updates(provider), { subject: subjects.updates(provider), provider })
      }
      return nats.subscribe(subjects.updates(provider), { onDenied }, (message) => {
        const offered = cache.offerUpdate(provider, message.string())
        if (offered === "kept") kept(provider)
        else if (offered !== "stale") dropped(offered, provider)
      }).pipe(Scope.provide(scope))
    }

    // A refusal takes `provider` out of `followed`; NATS sends it before the answer to `ask`.
    const following: Following = <A, E>(provider: string, ask: Effect.Effect<A, E>) =>
      follow(provider).pipe(
        Effect.andThen(Effect.exit(ask)),
        Effect.flatMap((exit): Effect.Effect<A, E | NotPermitted> => {
          if (followed.has(provider)) {
            refusedProviders.delete(provider)
            return exit
          }
          // The request's own refusal (its subject, its inbox) says more: a provider not allowed at all.
          return Exit.hasInterrupts(exit) || refusedItself(exit)
            ? exit
            : Effect.fail(updatesNotPermitted(provider, subjects.updates(provider)))
        })
      )

    return { following, refused: (provider: string) => refusedProviders.has(provider) }
  })
