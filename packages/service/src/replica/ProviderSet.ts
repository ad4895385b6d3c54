/**
 * The providers a replica serves, which an operator may change while it runs
 * (`tokenbus serve` reads its file again on SIGHUP). Answering consumers asks
 * `get` on every request, so the current set is a plain map; leading
 * follows `changes`. A reload keeps the very object of every provider whose
 * configuration and secrets did not change (`fingerprint`), so its leader
 * and its cache carry on as if nothing happened; a changed provider's leader
 * starts again with the new configuration, a removed one's stops and its
 * consumers get `ProviderNotFound`, and a new one is led and minted for.
 */
import { Effect, SubscriptionRef } from "effect"
import type { ConfiguredProvider } from "../config/ConfiguredProvider.ts"
import { fingerprint } from "../config/fingerprint.ts"

export interface ProviderChange {
  readonly added: ReadonlyArray<string>
  readonly changed: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
}

export interface ProviderSet {
  readonly get: (id: string) => ConfiguredProvider | undefined
  readonly changes: SubscriptionRef.SubscriptionRef<ReadonlyArray<ConfiguredProvider>>
  /** Serves `next` from now on; says what changed. */
  readonly replace: (next: ReadonlyArray<ConfiguredProvider>) => Effect.Effect<ProviderChange>
}

export const makeProviderSet = (initial: ReadonlyArray<ConfiguredProvider>): Effect.Effect<ProviderSet> =>
  Effect.gen(function*() {
    let current = new Map(initial.map((provider) => [provider.id, provider]))
    const changes = yield* SubscriptionRef.make(initial)

    const replace = (next: ReadonlyArray<ConfiguredProvider>) =>
      Effect.suspend(() => {
        const added: Array<string> = []
        const changed: Array<string> = []
        const kept = next.map((provider) => {
          const held = current.get(provider.id)
          if (held === undefined) added.push(provider.id)
          else if (fingerprint(held) === fingerprint(provider)) return held
          else changed.push(provider.id)
          return provider
        })
        const ids = new Set(next.map((provider) => provider.id))
        const removed = [...current.keys()].filter((id) => !ids.has(id))
        current = new Map(kept.map((provider) => [provider.id, provider]))
        const change: ProviderChange = { added, changed, removed }
        return Effect.as(SubscriptionRef.set(changes, kept), change)
      })

    return { get: (id) => current.get(id), changes, replace }
  })
