/**
 * The cluster's status as data, in the shape `tokenbus status --json` prints
 * (README, "Operating it"): the live replicas, and per provider its leader
 * and term (the fence its state names: the one source of truth for who
 * leads, since every leader's first act is to write it), its token's
 * version, reason, age and expiry, the budget left, and the breaker. Times
 * are ISO strings, durations milliseconds; a field that has no value is
 * `null`, never absent, so the shape stays the same for scripts. Pure: the
 * caller reads KV (ReadStatus.ts) and says what time it is.
 */
import { memberOfKey, type RateLimit } from "@tokenbus/core"
import { Option, Schema } from "effect"
import { budgetLeft } from "./BudgetLeft.ts"
import type { StreamEntry } from "./internal/JetStreamReads.ts"
import { type StateView, viewOf } from "./StateView.ts"

export interface ReplicaStatus {
  readonly id: string
  readonly instance: string | null
  /** When its member key was last renewed (server time). */
  readonly renewedAt: string
}

export interface ProviderStatus {
  readonly provider: string
  /**
   * `member`: whether the leader is among the live replicas. False between a leader's end and its
   * successor's fence (or when the leases bucket lists no members at all).
   */
  readonly leader: { readonly replica: string; readonly term: number; readonly member: boolean } | null
  readonly token: {
    readonly version: number
    readonly reason: string
    readonly tokenType: string
    readonly issuedAt: string
    readonly ageMillis: number
    readonly expiresAt: string | null
    /** Negative once expired. */
    readonly expiresInMillis: number | null
  } | null
  readonly budget: {
    readonly tokens: number
    readonly windowMillis: number
    readonly burst: number | null
    /** Where the limit came from: the configuration given, or the default (5 a minute). */
    readonly limitFrom: "config" | "default"
    readonly left: number
    /** When the call after those left is granted. */
    readonly nextAt: string
    readonly blockedUntil: string | null
  }
  readonly breaker: { readonly open: boolean; readonly reason: string | null; readonly since: string | null }
  /** An upstream call whose answer was never committed, since then (ProviderState.ts). */
  readonly unconfirmedSince: string | null
  /** The KV revision of the state read, and when it was written. */
  readonly revision: number | null
  readonly updatedAt: string | null
  /** Why the state could not be read, if it could not; the other fields are then empty. */
  readonly problem: string | null
}

export interface ClusterStatus {
  readonly prefix: string
  readonly at: string
  readonly replicas: ReadonlyArray<ReplicaStatus>
  readonly providers: ReadonlyArray<ProviderStatus>
}

export interface ProviderLimit {
  readonly limit: RateLimit
  readonly from: "config" | "default"
}

const iso = (millis: number): string => new Date(millis).toISOString()

const MemberValue = Schema.Struct({ holder: Schema.String, instance: Schema.optionalKey(Schema.String) })
const decodeMember = Schema.decodeUnknownOption(Schema.fromJsonString(MemberValue))

/** The live members among the leases bucket's last entries: `members.<id>` keys that hold a value. */
export const replicasOf = (entries: ReadonlyArray<StreamEntry>): ReadonlyArray<ReplicaStatus> =>
  entries.flatMap((entry) => {
    const id = memberOfKey(entry.key)
    if (id === undefined || entry.operation !== "PUT") return []
    const instance = Option.match(decodeMember(entry.value), { onNone: () => null, onSome: (m) => m.instance ?? null })
    return [{ id, instance, renewedAt: iso(entry.storedAt) }]
  }).sort((a, b) => a.id.localeCompare(b.id))

const budgetOf = (limit: ProviderLimit, state: Parameters<typeof budgetLeft>[1], now: number) => {
  const left = budgetLeft(limit.limit, state, now)
  return {
    tokens: limit.limit.tokens,
    windowMillis: limit.limit.windowMillis,
    burst: limit.limit.burst ?? null,
    limitFrom: limit.from,
    left: left.left,
    nextAt: iso(left.nextAt),
    blockedUntil: left.blockedUntil === undefined ? null : iso(left.blockedUntil)
  }
}

const closed = { open: false, reason: null, since: null } as const

/** A provider's status from the last entry of its key (none: never written), at `now`, among `members`. */
export const providerStatus = (
  provider: string,
  entry: StreamEntry | undefined,
  limit: ProviderLimit,
  now: number,
  members: ReadonlySet<string> = new Set()
): ProviderStatus => {
  const written = entry !== undefined && entry.operation === "PUT"
  const view = written ? viewOf(entry.value, entry.revision) : Option.some<StateView>({})
  const state = Option.getOrElse(view, (): StateView => ({}))
  const { breaker, budget, fence, token, unconfirmed } = state
  return {
    provider,
    leader: fence === undefined ? null : { replica: fence.holder, term: fence.term, member: members.has(fence.holder) },
    token: token === undefined ? null : {
      version: token.version ?? 0,
      reason: token.reason,
      tokenType: token.tokenType,
      issuedAt: iso(token.issuedAt),
      ageMillis: Math.max(0, now - token.issuedAt),
      expiresAt: token.expiresAt === undefined ? null : iso(token.expiresAt),
      expiresInMillis: token.expiresAt === undefined ? null : token.expiresAt - now
    },
    budget: budgetOf(limit, budget, now),
    breaker: breaker === undefined ? closed : { open: true, reason: breaker.reason, since: iso(breaker.since) },
    unconfirmedSince: unconfirmed === undefined ? null : iso(unconfirmed.since),
    revision: written ? entry.revision : null,
    updatedAt: written ? iso(entry.storedAt) : null,
    problem: Option.isNone(view) ? "the stored state does not decode" : null
  }
}
