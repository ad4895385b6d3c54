/**
 * The names tokenbus uses on NATS: subjects for requests, replies and
 * broadcasts, and the KV buckets the replicas share. Everything hangs off one
 * prefix so several deployments can share a NATS account. PROTOCOL.md lists
 * these; keep the two in step.
 */
import { Schema } from "effect"

export const Prefix = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_-]{1,32}$/, {
    message: "a subject prefix is 1-32 characters of A-Z, a-z, 0-9, '_' and '-' (it also names KV buckets)"
  })
)

export const defaultPrefix = "tokenbus"

/** The queue group replicas answer in, so NATS spreads requests across them. */
export const replicaQueue = "tokenbus-replicas"

export interface Subjects {
  readonly prefix: string
  /** Request/reply: the current token. */
  readonly get: (provider: string) => string
  /** Request/reply: a consumer saw a 401 with a given version. */
  readonly unauthorized: (provider: string) => string
  /** Broadcast: every token the leader commits. */
  readonly updates: (provider: string) => string
  /** Request/reply, replicas to the provider's leader only. */
  readonly mint: (provider: string) => string
  readonly anyGet: string
  readonly anyUnauthorized: string
  readonly anyUpdates: string
  readonly leaseBucket: string
  readonly tokenBucket: string
}

export const makeSubjects = (prefix: string = defaultPrefix): Subjects => ({
  prefix,
  get: (provider) => `${prefix}.token.${provider}.get`,
  unauthorized: (provider) => `${prefix}.token.${provider}.unauthorized`,
  updates: (provider) => `${prefix}.token.${provider}.updates`,
  mint: (provider) => `${prefix}.leader.${provider}.mint`,
  anyGet: `${prefix}.token.*.get`,
  anyUnauthorized: `${prefix}.token.*.unauthorized`,
  anyUpdates: `${prefix}.token.*.updates`,
  leaseBucket: `${prefix}-leases`,
  tokenBucket: `${prefix}-tokens`
})

/** The provider token of a `<prefix>.token.<provider>.<verb>` subject. */
export const providerOf = (subject: string): string => {
  const end = subject.lastIndexOf(".")
  return subject.slice(subject.lastIndexOf(".", end - 1) + 1, end)
}
