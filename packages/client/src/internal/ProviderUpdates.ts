/**
 * The updates a client follows: one subscription per provider it has asked
 * for (`<prefix>.token.<provider>.updates`), not one to every provider's, so
 * a consumer whose NATS permissions allow only some providers' subjects
 * needs no wildcard. The subscription is made before the first request for
 * its provider leaves, on the same connection, so NATS has it before any
 * replica sees the request: no update committed after the reply is missed.
 * Each update is offered to the cache, which drops what does not verify.
 */
import type { RecordDrop, Subjects, TokenCache } from "@tokenbus/core"
import type { NatsConnection } from "@tokenbus/nats"
import { Effect, Scope } from "effect"

export interface ProviderUpdatesOptions {
  readonly nats: NatsConnection["Service"]
  readonly subjects: Subjects
  readonly cache: TokenCache
  /** Told of every provider whose token the cache keeps from an update. */
  readonly kept: (provider: string) => void
  readonly dropped: RecordDrop
}

/** Makes `follow`, whose subscriptions last as long as the calling scope. */
export const makeProviderUpdates = ({ cache, dropped, kept, nats, subjects }: ProviderUpdatesOptions) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const followed = new Set<string>()

    /** Subscribes to `provider`'s updates, once; nothing to do when it is followed already. */
    const follow = (provider: string): Effect.Effect<void> => {
      if (followed.has(provider)) return Effect.void
      followed.add(provider)
      return nats.subscribe(subjects.updates(provider), {}, (message) => {
        const offered = cache.offerUpdate(provider, message.string())
        if (offered === "kept") kept(provider)
        else if (offered !== "stale") dropped(offered, provider)
      }).pipe(Scope.provide(scope))
    }

    return follow
  })
