/**
 * What the checker reads: the run's history and the facts gathered at its
 * end (the upstreams' own counters, the buckets' replication, leaks found in
 * the replicas' output), the verdict each invariant returns, and the small
 * readings of them the invariants share.
 */
import type { History, LogEvent } from "./History.ts"

export interface Verdict {
  readonly invariant: string
  readonly observed: string
  readonly bound: string
  readonly violations: ReadonlyArray<string>
}

export interface RateLimit {
  readonly tokens: number
  readonly windowMillis: number
  readonly burst?: number
}

export interface CheckInput {
  readonly history: History
  readonly limits: Readonly<Record<string, RateLimit>>
  /** 429s the upstreams counted themselves. */
  readonly rateLimitedBySim: Readonly<Record<string, number>>
  /** The refresh-token upstream's own replay signals. */
  readonly refreshReuse: { readonly reuseDetected: number; readonly invalidGrant: number }
  /** Each bucket's replication factor, at the start and at the end; and the one wanted. */
  readonly bucketReplicas: ReadonlyArray<{ readonly when: string; readonly tokens: number; readonly leases: number }>
  readonly wantedReplicas: number
  /** Buckets the test had to scale up itself: the product created them below `wantedReplicas`. */
  readonly scaledByTest: ReadonlyArray<string>
  /** What the replicas' output leaked, by name (never the value). */
  readonly leaks: ReadonlyArray<string>
  /** When the last fault was healed. */
  readonly healedAt: number
  readonly start: number
  /** When the run stopped watching: a bound that ends later cannot be checked. */
  readonly end: number
}

/** A moment as an offset from the start of the faults, as violations name it. */
export const offset = (input: CheckInput, at: number): string => `+${((at - input.start) / 1000).toFixed(2)}s`

export const millisOrNever = (millis: number | undefined): string =>
  millis !== undefined && Number.isFinite(millis) ? `${millis} ms` : "never"

export const groupBy = <A>(items: ReadonlyArray<A>, key: (item: A) => string): Map<string, Array<A>> => {
  const groups = new Map<string, Array<A>>()
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item])
  return groups
}

/** Every "minted and committed a token" line of every replica. */
export const commits = (input: CheckInput): Array<LogEvent> =>
  input.history.of("log").filter((line) => line.msg === "minted and committed a token")
