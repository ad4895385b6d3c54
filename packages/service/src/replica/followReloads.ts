/**
 * How a replica takes a new configuration while it runs (`tokenbus serve`
 * reads its file again on SIGHUP): it serves the new list of providers
 * (ProviderSet.ts: an unchanged provider carries on untouched) and logs what
 * was added, changed and removed. Any other setting needs a restart, which it
 * says rather than half-apply.
 */
import { Effect, Stream } from "effect"
import type { ServiceConfig } from "../config/ServiceConfig.ts"
import { ReplicaContext } from "./ReplicaContext.ts"

/** Serves the providers of each configuration `reloads` brings, until the scope closes. */
export const followReloads = (reloads: Stream.Stream<ServiceConfig>) =>
  Effect.gen(function*() {
    const { config, providers } = yield* ReplicaContext
    yield* reloads.pipe(
      Stream.runForEach((next) =>
        Effect.gen(function*() {
          const change = yield* providers.replace(next.providers)
          yield* Effect.logInfo("reloaded the providers").pipe(Effect.annotateLogs({
            added: change.added.join(","),
            changed: change.changed.join(","),
            removed: change.removed.join(","),
            providers: next.providers.length
          }))
          const others = ignoredSettings(config, next)
          if (others.length > 0) {
            yield* Effect.logWarning("only providers change on a reload; restart the replica for the rest").pipe(
              Effect.annotateLogs({ settings: others.join(",") })
            )
          }
        })
      ),
      Effect.forkScoped
    )
  })

/** The top-level settings other than `providers` that differ between two configurations. */
const ignoredSettings = (running: ServiceConfig, next: ServiceConfig): ReadonlyArray<string> =>
  (Object.keys({ ...running, ...next }) as Array<keyof ServiceConfig>).filter((key) =>
    key !== "providers" && JSON.stringify(running[key]) !== JSON.stringify(next[key])
  )

