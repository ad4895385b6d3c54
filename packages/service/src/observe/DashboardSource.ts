/**
 * The dashboard's `/events` as the HTTP port serves it: server-sent events,
 * `event: status` for each snapshot and `event: timeline` for each status
 * event, from the replica's DashboardFeed once the replica is built and
 * attaches it (Observe.ts). The port answers from the start (Probes.ts), so
 * until then, and once the replica stops, a page is told why in an
 * `event: unavailable` and the stream ends: the browser's EventSource
 * connects again after the `retry` given.
 */
import { Effect, type Scope, Stream } from "effect"
import type { DashboardFeed, DashboardMessage } from "./DashboardFeed.ts"

export interface DashboardSource {
  /** One page's event stream, encoded. */
  readonly events: Stream.Stream<Uint8Array>
  /** Serves `feed` until the scope closes; after it, the replica is stopping. */
  readonly attach: (feed: DashboardFeed) => Effect.Effect<void, never, Scope.Scope>
}

const retryMillis = 1_000

/** One server-sent event: JSON on one `data` line (JSON.stringify escapes every newline). */
export const serverSentEvent = (event: string, data: unknown): string =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

const encoded = (message: DashboardMessage): string =>
  message._tag === "status" ? serverSentEvent("status", message.snapshot) : serverSentEvent("timeline", message.event)

const unavailable = (reason: string) =>
  Stream.make(`retry: ${retryMillis}\n\n`, serverSentEvent("unavailable", { reason })).pipe(Stream.encodeText)

export const makeDashboardSource = (): DashboardSource => {
  let current: Stream.Stream<Uint8Array> = unavailable("the replica is starting: connecting to NATS")
  return {
    events: Stream.suspend(() => current),
    attach: (feed) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          current = Stream.concat(Stream.make(`retry: ${retryMillis}\n\n`), Stream.map(feed.messages, encoded)).pipe(
            Stream.encodeText
          )
        }),
        () =>
          Effect.sync(() => {
            current = unavailable("the replica is stopping")
          })
      )
  }
}
