/**
 * How a replica keeps its cache current from the broadcast: it subscribes to
 * every provider's updates (no queue group: every replica gets each one) and
 * offers each to its cache, which keeps only a token of the subject's
 * provider, in a protocol version it speaks, with a plausible version, when
 * sealed, opened with the replica's bus keys and, when the replica has the
 * cluster's key, signed with it. Anything else is dropped and counted in a
 * bounded warning: whoever forges updates decides how many arrive, not how
 * many lines are logged.
 */
import { makeBoundedWarning, providerOf } from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { Clock, Effect } from "effect"
import { ReplicaMetrics } from "../observe/ReplicaMetrics.ts"
import { ReplicaContext } from "./ReplicaContext.ts"

export const droppedUpdatesMessage = "dropped token updates that failed verification; the token held is kept"

/** Follows the updates subject of every provider until the scope closes. */
export const followUpdates = Effect.gen(function*() {
  const nats = yield* NatsConnection
  const { cache, heard, providers, subjects } = yield* ReplicaContext
  const dropped = yield* makeBoundedWarning(droppedUpdatesMessage)
  const metrics = yield* ReplicaMetrics
  const clock = yield* Clock.Clock
  yield* nats.subscribe(subjects.anyUpdates, {}, (message) => {
    const provider = providerOf(message.subject)
    // Not served here: nothing to keep, and the cache must not grow with every name someone publishes.
    if (providers.get(provider) === undefined) return
    const offered = cache.offerUpdate(provider, message.string())
    if (offered === "kept") {
      // A version is at least its commit's wall clock in microseconds (PROTOCOL.md, "Versions").
      const version = cache.get(provider)?.version
      if (version === undefined) return
      heard.heard(provider, version)
      metrics.broadcastLag((clock.currentTimeMillisUnsafe() - version / 1000) / 1000)
    } else if (offered !== "stale") dropped(offered, provider)
  })
})
