/**
 * The invariant about leadership itself: no provider goes without a leader
 * for longer than the lease TTL plus a second. A leader that dies, freezes
 * or leaves is replaced once its member lease lapses (or at once when it
 * releases it), and a provider that moves to a joining replica is handed
 * over within a fraction of a lease. The one exception is a KV outage the
 * nemesis makes (a NATS node killed or paused, a bucket deleted): nobody
 * can renew a lease or fence a state then, nor until the streams have
 * elected new leaders, so a gap that overlaps one or its recovery
 * (`KV_RECOVERY_MILLIS` after it) only has to end within the outage plus
 * that recovery plus the same TTL and second.
 */
import type { CheckInput, Verdict } from "./CheckInput.ts"
import { offset } from "./CheckInput.ts"
import { leaderlessSpans, type Span } from "./Timeline.ts"

/** After a KV outage is healed, a new KV stream leader is elected within about this (ChaosSettings.ts, 15 s path). */
export const KV_RECOVERY_MILLIS = 5000

/** The faults during which the KV buckets may be unreachable or gone. */
const OUTAGE_KINDS = new Set(["kill-nats", "pause-nats", "bucket"])

const outages = (input: CheckInput): Array<Span> =>
  input.history.of("fault").filter((fault) => OUTAGE_KINDS.has(fault.kind)).map((f) => ({ from: f.at, to: f.end }))

/**
 * The outage a gap is judged against: of those it overlaps, the one that ends last. Leases lapse while the KV
 * streams elect new leaders, which goes on after the node is back, so a gap that starts in that recovery is
 * the outage's too; and faults come back to back (a bucket recreated, then a node killed), so the first one
 * the gap touches may not be the one it waits out.
 */
const lastOutageOf = (gap: Span, kvOutages: ReadonlyArray<Span>, bound: number): Span | undefined =>
  kvOutages
    // A gap already longer than the bound when the outage began is not the outage's.
    .filter((o) => gap.from <= o.to + KV_RECOVERY_MILLIS && o.from <= gap.to && o.from - gap.from <= bound)
    .reduce<Span | undefined>((last, o) => (last === undefined || o.to > last.to ? o : last), undefined)

/**
 * `providers`' leaderless spans checked against `ttlMillis` + 1 s (stretched by an outage they overlap),
 * from each provider's first leader on, or from `since` (the cluster up: every provider led and holding a
 * token) if given.
 */
export const leaderGaps = (
  input: CheckInput,
  providers: ReadonlyArray<string>,
  ttlMillis: number,
  since = -Infinity
): Verdict => {
  const bound = ttlMillis + 1000
  const kvOutages = outages(input)
  const violations: Array<string> = []
  let worst: { provider: string; gap: Span } | undefined
  let excused = 0
  for (const provider of providers) {
    for (const span of leaderlessSpans(input.history, provider, input.end)) {
      if (span.to <= since) continue
      const gap = { from: Math.max(span.from, since), to: span.to }
      const length = gap.to - gap.from
      if (worst === undefined || length > worst.gap.to - worst.gap.from) worst = { provider, gap }
      if (length <= bound) continue
      const outage = lastOutageOf(gap, kvOutages, bound)
      if (outage !== undefined && gap.to <= outage.to + KV_RECOVERY_MILLIS + bound) {
        excused++
        continue
      }
      const during = outage === undefined ? "" : ` (past the KV outage of ${offset(input, outage.from)}'s recovery)`
      violations.push(`${provider}: no leader for ${length} ms from ${offset(input, gap.from)}${during}`)
    }
  }
  const worstText = worst === undefined
    ? "none"
    : `${worst.gap.to - worst.gap.from} ms (${worst.provider} from ${offset(input, worst.gap.from)})`
  return {
    invariant: "no provider without a leader longer than the lease TTL + 1 s",
    observed: `${providers.length} providers${since === -Infinity ? "" : ", once all were served"}; ` +
      `worst gap ${worstText}` +
      (excused === 0 ? "" : `; ${excused} longer gaps within a KV outage's recovery`),
    bound: `≤ ${bound} ms; during a KV outage ≤ its end + ${KV_RECOVERY_MILLIS + bound} ms`,
    violations
  }
}
