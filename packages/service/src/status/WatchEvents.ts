/**
 * The live stream `tokenbus watch` prints: the leader's broadcasts on
 * `<prefix>.token.*.updates` become `token` events, and every committed
 * change of the tokens bucket, read in revision order from the revision
 * the watch started at (internal/JetStreamReads.ts: read-only, no
 * consumer), becomes the events StatusEvent.ts tells from it. Opening the
 * watch subscribes and reads each provider's state first, so the first
 * change reports only what changed and nothing after the opening is missed;
 * a token is reported once, as a version above any seen before.
 * The stream runs until the scope it was opened in closes (Ctrl-C, `--for`,
 * `--count`).
 */
import { makeSubjects, providerOf } from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { Cause, Clock, Effect, Option, Queue, Schedule, Stream } from "effect"
import type { ProviderLimit } from "./ClusterStatus.ts"
import { bucketContents, entryFrom, lastEntry, StatusReadError } from "./internal/JetStreamReads.ts"
import { type StateView, viewOf } from "./StateView.ts"
import { stateEvents, type StatusEvent, tokenEvent } from "./StatusEvent.ts"

export interface WatchQuery {
  readonly prefix: string
  readonly limitOf: (provider: string) => ProviderLimit
  /** How often the tokens bucket is asked for a change when the last ask found none. */
  readonly pollMillis?: number
}

const defaultPollMillis = 250

/** A read that fails while NATS reconnects is asked again, for a while. */
const retried = <A>(read: Effect.Effect<A, StatusReadError>) =>
  read.pipe(Effect.retry({ schedule: Schedule.spaced("500 millis"), times: 20 }))

/** The updates subscription, feeding `queue` from now until the scope closes. */
const subscribeUpdates = Effect.fnUntraced(function*(prefix: string, queue: Queue.Queue<StatusEvent, StatusReadError>) {
  const nats = yield* NatsConnection
  const clock = yield* Clock.Clock
  yield* nats.subscribe(makeSubjects(prefix).anyUpdates, {
    onDenied: (denied) => {
      const message = `the NATS user may not ${denied.operation} ${denied.subject}`
      Queue.failCauseUnsafe(queue, Cause.fail(new StatusReadError({ source: denied.subject, message })))
    }
  }, (message) => {
    const event = tokenEvent(providerOf(message.subject), message.string(), clock.currentTimeMillisUnsafe())
    if (Option.isSome(event)) Queue.offerUnsafe(queue, event.value)
  })
})

/** Each provider's state now, and the revision the next change will be at or above. */
const baseline = Effect.fnUntraced(function*(nats: NatsConnection["Service"], bucket: string) {
  const { keys, lastRevision } = yield* bucketContents(nats, bucket)
  const views = new Map<string, StateView>()
  for (const key of keys) {
    const entry = yield* lastEntry(nats, bucket, key)
    if (Option.isNone(entry) || entry.value.operation !== "PUT") continue
    const view = viewOf(entry.value.value, entry.value.revision)
    if (Option.isSome(view)) views.set(key, view.value)
  }
  return { views, next: lastRevision + 1 }
})

/** The events of the tokens bucket's changes from `start.next` on, in revision order. */
const stateChanges = (
  nats: NatsConnection["Service"],
  bucket: string,
  query: WatchQuery,
  start: { readonly views: Map<string, StateView>; readonly next: number }
): Stream.Stream<StatusEvent, StatusReadError> =>
  Stream.paginate(start.next, (next) =>
    retried(entryFrom(nats, bucket, next)).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.as(Effect.sleep(query.pollMillis ?? defaultPollMillis), [[], Option.some(next)] as const),
        onSome: (entry) =>
          Effect.sync(() => {
            const { after, events } = stateEvents(start.views.get(entry.key), entry, query.limitOf(entry.key))
            if (after === undefined) start.views.delete(entry.key)
            else start.views.set(entry.key, after)
            return [events, Option.some(entry.revision + 1)] as const
          })
      }))
    ))

/** Opens the watch (see the module comment); the stream ends only with an error or the scope. */
export const openWatch = Effect.fnUntraced(function*(query: WatchQuery) {
  const nats = yield* NatsConnection
  const updates = yield* Queue.unbounded<StatusEvent, StatusReadError>()
  yield* subscribeUpdates(query.prefix, updates)
  const bucket = makeSubjects(query.prefix).tokenBucket
  const start = yield* baseline(nats, bucket)
  // A new leader re-broadcasts the token it adopted, and a replica may repeat one: only new versions are news.
  const newest = new Map([...start.views].map(([provider, view]) => [provider, view.token?.version ?? 0]))
  const news = Stream.filter(Stream.fromQueue(updates), (event) => {
    if (event.event !== "token" || event.version <= (newest.get(event.provider) ?? 0)) return false
    newest.set(event.provider, event.version)
    return true
  })
  return Stream.merge(news, stateChanges(nats, bucket, query, start))
})
