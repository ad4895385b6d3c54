/**
 * Questions about time the checker and the report ask of a history: which
 * version a consumer held at a moment, when it first held one newer than a
 * given version, and the spans during which no replica led a provider.
 */
import type { ChaosEvent, HeldEvent, History } from "./History.ts"

/** Each consumer's held-token changes for `provider`, in time order. */
export const heldByConsumer = (history: History, provider: string): Map<string, Array<HeldEvent>> => {
  const byConsumer = new Map<string, Array<HeldEvent>>()
  for (const event of history.of("held")) {
    if (event.provider !== provider) continue
    const list = byConsumer.get(event.consumer) ?? []
    list.push(event)
    byConsumer.set(event.consumer, list)
  }
  return byConsumer
}

/**
 * The first moment at or after `from` when the consumer held a version that
 * `accept`s (the moment itself if it already did), or undefined if it never
 * did while sampled.
 */
export const firstHolding = (
  held: ReadonlyArray<HeldEvent>,
  from: number,
  accept: (version: number) => boolean
): number | undefined => {
  const before = held.findLast((event) => event.at <= from)
  if (before?.version !== undefined && accept(before.version)) return from
  return held.find((event) => event.at > from && event.version !== undefined && accept(event.version))?.at
}

export interface Span {
  readonly from: number
  readonly to: number
}

/** When each replica led `provider`: from "became leader" until it stepped down, was signalled to stop, or exited. */
const leaderships = (events: ReadonlyArray<ChaosEvent>, provider: string, end: number): Array<Span> => {
  const open = new Map<string, number>()
  const spans: Array<Span> = []
  const close = (replica: string, at: number) => {
    const from = open.get(replica)
    if (from === undefined) return
    spans.push({ from, to: at })
    open.delete(replica)
  }
  for (const event of events) {
    if (event.type === "log" && event.provider === provider && event.msg === "became leader") {
      close(event.replica, event.at)
      open.set(event.replica, event.at)
    } else if (event.type === "log" && event.provider === provider && event.msg === "stepped down") {
      close(event.replica, event.at)
    } else if (event.type === "signal" && event.signal !== "SIGCONT") {
      // A stopped, killed or terminating process leads nothing from that moment.
      close(event.replica, event.at)
    } else if (event.type === "replica-exit") {
      close(event.replica, event.at)
    }
  }
  for (const replica of [...open.keys()]) close(replica, end)
  return spans
}

/** The spans between the first leader and `end` during which no replica led `provider`, longest first. */
export const leaderlessSpans = (history: History, provider: string, end: number): Array<Span> => {
  const spans = leaderships(history.all(), provider, end).sort((a, b) => a.from - b.from)
  const gaps: Array<Span> = []
  let covered = spans[0]?.to
  for (const span of spans.slice(1)) {
    if (covered !== undefined && span.from > covered) gaps.push({ from: covered, to: span.from })
    covered = Math.max(covered ?? span.to, span.to)
  }
  if (covered !== undefined && covered < end) gaps.push({ from: covered, to: end })
  return gaps.sort((a, b) => (b.to - b.from) - (a.to - a.from))
}
