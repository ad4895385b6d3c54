/**
 * The KV side of one in-memory client: one view per bucket name (the same one
 * on every `bucket()` call), partitioned while the client is disconnected,
 * and failing with `KvError` once it is closed, as nats.js rejects every
 * JetStream call of a closed connection (waiting ones included).
 */
import { Deferred, Effect, Latch, Stream } from "effect"
import type { BucketOptions } from "../../NatsConnection.ts"
import { KvError } from "../../NatsError.ts"
import type { MemoryKvBucket, MemoryKvStore } from "../MemoryKvBucket.ts"

export interface ConnectionBuckets {
  readonly bucket: (name: string, options: BucketOptions) => Effect.Effect<MemoryKvBucket, KvError>
  /** Partitions (or heals) every view, and holds (or lets through) opening new ones. */
  readonly partition: (on: boolean) => Effect.Effect<void>
  /** Fails every operation from now on, and those waiting. */
  readonly close: Effect.Effect<void>
}

export const makeConnectionBuckets = (
  store: (name: string, options: BucketOptions) => Effect.Effect<MemoryKvStore>
): Effect.Effect<ConnectionBuckets> =>
  Effect.gen(function*() {
    const online = yield* Latch.make(true)
    const closing = Deferred.makeUnsafe<void>()
    const views = new Map<string, { readonly raw: MemoryKvBucket; readonly guarded: MemoryKvBucket }>()
    let partitioned = false

    const closedError = (bucket: string, operation: string) =>
      new KvError({ bucket, operation, message: `KV ${operation} on ${bucket} failed: the connection is closed` })

    const untilClosed = <A, E>(bucket: string, operation: string, effect: Effect.Effect<A, E>) =>
      Effect.raceFirst(effect, Effect.andThen(Deferred.await(closing), Effect.fail(closedError(bucket, operation))))

    const guard = (view: MemoryKvBucket): MemoryKvBucket => ({
      ...view,
      created: untilClosed(view.name, "status", view.created),
      get: (key) => untilClosed(view.name, "get", view.get(key)),
      create: (key, value) => untilClosed(view.name, "create", view.create(key, value)),
      update: (key, value, revision) => untilClosed(view.name, "update", view.update(key, value, revision)),
      deleteAt: (key, revision) => untilClosed(view.name, "delete", view.deleteAt(key, revision)),
      watch: (key) =>
        view.watch(key).pipe(
          Stream.interruptWhen(Effect.andThen(Deferred.await(closing), Effect.fail(closedError(view.name, "watch"))))
        )
    })

    const open = (name: string, options: BucketOptions): Effect.Effect<MemoryKvBucket, KvError> =>
      Effect.suspend(() => {
        if (Deferred.isDoneUnsafe(closing)) return Effect.fail(closedError(name, "open"))
        const existing = views.get(name)
        if (existing !== undefined) return Effect.succeed(existing.guarded)
        return store(name, options).pipe(
          Effect.flatMap((kv) => kv.view),
          Effect.flatMap((raw) => {
            const raced = views.get(name)
            if (raced !== undefined) return Effect.succeed(raced.guarded)
            const guarded = guard(raw)
            views.set(name, { raw, guarded })
            // The client may have been cut off since the latch let this call through.
            return partitioned ? Effect.as(raw.partition(true), guarded) : Effect.succeed(guarded)
          })
        )
      })

    return {
      bucket: (name, options) => online.whenOpen(open(name, options)),
      partition: (on) =>
        Effect.suspend(() => {
          partitioned = on
          return Effect.andThen(
            on ? online.close : online.open,
            Effect.forEach(views.values(), ({ raw }) => raw.partition(on), { discard: true })
          )
        }),
      // Opening the latch lets opens waiting for a reconnect through, to fail.
      close: Effect.andThen(Deferred.succeed(closing, undefined), online.open)
    }
  })
