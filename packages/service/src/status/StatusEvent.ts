/**
 * What `tokenbus watch` reports, one event at a time, and how events are
 * told from what the cluster publishes: a `token` event for each update the
 * leader broadcasts (provider, version, reason, expiry: never the token),
 * and, from each committed change of a provider's state in KV, `leader`
 * when its fence names another holder or term, `breaker` when the breaker
 * opens or closes, `budget` when a call is spent or a 429 blocks it, and
 * `removed` when the state is deleted. Pure: the stream that feeds it is
 * WatchEvents.ts. Like the status, every field is present (`null` when it
 * has no value), times are ISO strings.
 */
import { Option, Schema } from "effect"
import { budgetLeft } from "./BudgetLeft.ts"
import type { ProviderLimit } from "./ClusterStatus.ts"
import type { StreamEntry } from "./internal/JetStreamReads.ts"
import { type StateView, TokenView, viewOf } from "./StateView.ts"

interface Common {
  /** When it happened: the server's time of the KV write, or when the update was received. */
  readonly at: string
  readonly provider: string
}

export type StatusEvent =
  | Common & {
    readonly event: "token"
    readonly version: number
    readonly reason: string
    readonly issuedAt: string
    readonly expiresAt: string | null
  }
  | Common & {
    readonly event: "leader"
    readonly replica: string
    readonly term: number
    readonly previous: { readonly replica: string; readonly term: number } | null
  }
  | Common & {
    readonly event: "breaker"
    readonly open: boolean
    readonly reason: string | null
    readonly since: string | null
  }
  | Common & {
    readonly event: "budget"
    readonly left: number
    readonly tokens: number
    readonly nextAt: string
    readonly blockedUntil: string | null
  }
  | Common & { readonly event: "removed" }

const iso = (millis: number): string => new Date(millis).toISOString()

const UpdateView = Schema.Struct({ token: TokenView.mapFields((fields) => ({ ...fields, provider: Schema.String })) })
const decodeUpdate = Schema.decodeUnknownOption(Schema.fromJsonString(UpdateView))

/** The `token` event of an update received at `now` on `provider`'s subject; none if it is not an update of it. */
export const tokenEvent = (provider: string, payload: string, now: number): Option.Option<StatusEvent> =>
  Option.flatMap(decodeUpdate(payload), ({ token }) =>
    token.provider !== provider || token.version === undefined ? Option.none() : Option.some({
      event: "token",
      at: iso(now),
      provider,
      version: token.version,
      reason: token.reason,
      issuedAt: iso(token.issuedAt),
      expiresAt: token.expiresAt === undefined ? null : iso(token.expiresAt)
    }))

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * The events of one committed change to a provider's state, given the state
 * before it (undefined: none known) and its rate limit. Returns the state
 * after it, for the next change.
 */
export const stateEvents = (
  before: StateView | undefined,
  entry: StreamEntry,
  limit: ProviderLimit
): { readonly events: ReadonlyArray<StatusEvent>; readonly after: StateView | undefined } => {
  const common = { at: iso(entry.storedAt), provider: entry.key }
  if (entry.operation !== "PUT") return { events: [{ ...common, event: "removed" }], after: undefined }
  const decoded = viewOf(entry.value, entry.revision)
  if (Option.isNone(decoded)) return { events: [], after: before }
  const after = decoded.value
  const events: Array<StatusEvent> = []
  const { fence } = after
  if (fence !== undefined && !sameJson(fence, before?.fence)) {
    const previous = before?.fence === undefined ? null : { replica: before.fence.holder, term: before.fence.term }
    events.push({ ...common, event: "leader", replica: fence.holder, term: fence.term, previous })
  }
  if (!sameJson(after.breaker, before?.breaker)) {
    const breaker = after.breaker
    events.push({
      ...common,
      event: "breaker",
      open: breaker !== undefined,
      reason: breaker?.reason ?? null,
      since: breaker === undefined ? null : iso(breaker.since)
    })
  }
  if (after.budget !== undefined && !sameJson(after.budget, before?.budget)) {
    const left = budgetLeft(limit.limit, after.budget, entry.storedAt)
    events.push({
      ...common,
      event: "budget",
      left: left.left,
      tokens: limit.limit.tokens,
      nextAt: iso(left.nextAt),
      blockedUntil: left.blockedUntil === undefined ? null : iso(left.blockedUntil)
    })
  }
  return { events, after }
}
