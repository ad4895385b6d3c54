/**
 * A replica's answers to Kubernetes' probes. Alive: the process runs and its
 * NATS connection is up (a replica cut off from NATS serves nobody, and a
 * restart may help). Ready: it can hand out tokens: connected, its consumer
 * subscriptions in place (this service is built after the Responder's), and
 * every provider either held in memory or, failing that, in KV, which its
 * leader keeps: a provider with no token anywhere yet (before the first mint,
 * or a breaker tripped before any) makes it not ready, with the reason. A
 * token found in KV is kept in the cache, so each probe reads KV only for
 * providers still missing, and stops at the first.
 */
import { NatsConnection } from "@tokenbus/nats"
import { Context, Effect, Layer, SubscriptionRef } from "effect"
import { TokenStore } from "../store/TokenStore.ts"
import { ReplicaContext } from "../replica/ReplicaContext.ts"
import { type Probe, probeFailed as failed } from "./Probe.ts"

const kvReadMillis = 2_000

export class Health extends Context.Service<Health, {
  readonly alive: Effect.Effect<Probe>
  readonly ready: Effect.Effect<Probe>
}>()("@tokenbus/service/Health") {
  static readonly layer: Layer.Layer<Health, never, NatsConnection | ReplicaContext | TokenStore> = Layer.effect(
    Health,
    Effect.gen(function*() {
      const nats = yield* NatsConnection
      const store = yield* TokenStore
      const { cache, providers } = yield* ReplicaContext

      const alive = Effect.map(nats.connected, (up): Probe => up ? { ok: true } : failed("NATS is not connected"))

      /** Held in memory, or read from KV into it; else why not. */
      const holds = (provider: string): Effect.Effect<string | undefined> => {
        if (cache.get(provider) !== undefined) return Effect.succeed(undefined)
        return store.read(provider).pipe(
          Effect.timeout(kvReadMillis),
          Effect.map(({ token }) => {
            if (token === undefined) return `no token for ${provider} yet`
            cache.offer(token)
            return cache.get(provider) === undefined ? `the token of ${provider} in KV is not usable` : undefined
          }),
          Effect.catch(() => Effect.succeed(`cannot read the token of ${provider} from KV`))
        )
      }

      const ready = Effect.gen(function*() {
        const live = yield* alive
        if (!live.ok) return live
        for (const provider of yield* SubscriptionRef.get(providers.changes)) {
          const why = yield* holds(provider.id)
          if (why !== undefined) return failed(why)
        }
        return { ok: true }
      })

      return { alive, ready }
    })
  )
}
