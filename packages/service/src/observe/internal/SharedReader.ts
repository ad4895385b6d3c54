/**
 * One reader shared by every page of a replica's dashboard: it starts with
 * the first page, and stops `idleMillis` after the last has gone (a reload
 * finds it warm), so a replica nobody watches reads nothing. Pages take its
 * messages from a sliding PubSub of `backlog` messages: a page that reads
 * slowly, or whose socket stalls (the HTTP server writes only as the socket
 * drains), loses its oldest messages instead of making the replica hold
 * them. The message published last with `publishLatest` (a snapshot) is
 * the first a page gets, so one that connects late starts complete.
 */
import { Effect, Option, PubSub, RcRef, type Scope, Stream } from "effect"

export interface Publisher<A> {
  readonly publish: (message: A) => Effect.Effect<void>
  /** Publishes it, and keeps it as the first message of the pages that connect from now on. */
  readonly publishLatest: (message: A) => Effect.Effect<void>
}

export interface SharingOptions {
  readonly backlog: number
  readonly idleMillis: number
}

/** Each page's stream of what `reader` publishes; the reader runs in a scope of its own, while pages are open. */
export const shareReader = <A, R>(
  reader: (publisher: Publisher<A>) => Effect.Effect<void, never, R | Scope.Scope>,
  options: SharingOptions
): Effect.Effect<Stream.Stream<A>, never, R | Scope.Scope> =>
  Effect.gen(function*() {
    const shared = yield* RcRef.make({
      // RcRef gives each acquisition a scope of its own: the reader's fibers end with it.
      acquire: Effect.gen(function*() {
        const hub = yield* Effect.acquireRelease(PubSub.sliding<A>(options.backlog), PubSub.shutdown)
        const latest = { current: Option.none<A>() }
        yield* reader({
          publish: (message) => PubSub.publish(hub, message),
          publishLatest: (message) =>
            Effect.suspend(() => {
              latest.current = Option.some(message)
              return PubSub.publish(hub, message)
            })
        })
        return { hub, latest }
      }),
      idleTimeToLive: options.idleMillis
    })
    return Stream.unwrap(Effect.gen(function*() {
      const { hub, latest } = yield* RcRef.get(shared)
      // Subscribed before the latest is read, so nothing falls between the two.
      const subscription = yield* PubSub.subscribe(hub)
      return Stream.concat(Stream.fromIterable(Option.toArray(latest.current)), Stream.fromSubscription(subscription))
    }))
  })
