/**
 * Reads the cluster's status from its two KV buckets, read-only
 * (internal/JetStreamReads.ts): the members of the leases bucket and each
 * provider's state in the tokens bucket. The providers are the tokens
 * bucket's keys and those the caller names (the configuration's), so a
 * provider nobody has minted for yet still shows, with no token.
 */
import { makeSubjects, memberKeyPrefix } from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { Clock, Effect, Option } from "effect"
import { type ClusterStatus, type ProviderLimit, providerStatus, replicasOf } from "./ClusterStatus.ts"
import { bucketContents, lastEntry } from "./internal/JetStreamReads.ts"

export { StatusReadError } from "./internal/JetStreamReads.ts"

export interface StatusQuery {
  readonly prefix: string
  /** Providers to show even if the tokens bucket has no state for them. */
  readonly providers: ReadonlyArray<string>
  /** The rate limit a provider's budget is counted against. */
  readonly limitOf: (provider: string) => ProviderLimit
}

const reads = { concurrency: 8 } as const

/** The last entries of the keys under `filter` of `bucket`, deleted ones included. */
const lastEntries = (nats: NatsConnection["Service"], bucket: string, filter?: string) =>
  bucketContents(nats, bucket, filter).pipe(
    Effect.flatMap(({ keys }) => Effect.forEach(keys, (key) => lastEntry(nats, bucket, key), reads)),
    Effect.map((entries) => entries.flatMap(Option.toArray))
  )

export const readStatus = Effect.fnUntraced(function*(query: StatusQuery) {
  const nats = yield* NatsConnection
  const subjects = makeSubjects(query.prefix)
  const [members, states] = yield* Effect.all([
    lastEntries(nats, subjects.leaseBucket, `${memberKeyPrefix}>`),
    lastEntries(nats, subjects.tokenBucket)
  ], { concurrency: 2 })
  const now = yield* Clock.currentTimeMillis
  const byProvider = new Map(states.map((entry) => [entry.key, entry]))
  const names = [...new Set([...byProvider.keys(), ...query.providers])].sort()
  const replicas = replicasOf(members)
  const live = new Set(replicas.map((replica) => replica.id))
  const status: ClusterStatus = {
    prefix: query.prefix,
    at: new Date(now).toISOString(),
    replicas,
    providers: names.map((provider) =>
      providerStatus(provider, byProvider.get(provider), query.limitOf(provider), now, live)
    )
  }
  return status
})
