/**
 * An in-memory `KvBucket` for tests, faithful to the JetStream KV behaviour
 * tokenbus relies on (test/NatsKvSemantics.test.ts pins it down against a
 * real server): `create` conflicts on a live key, `update` and `deleteAt`
 * need the key's current revision, revisions come from one counter per
 * bucket, a delete leaves a marker that reads as absent and can be created
 * over, and with a TTL a key not written for `ttlMillis` is gone.
 *
 * Time comes from Effect's `Clock`, so `TestClock` decides when keys expire.
 * Expiry is exact (a real server removes keys somewhat after the TTL), which
 * is the earliest another client could take an expired lock: the strictest
 * case for leader-election tests. Like the server, expiry sends nothing to
 * watchers.
 *
 * A store is the bucket on the server; each `view` is one client of it with
 * its own network faults (`partition`, `delayReplies`), so a test can cut
 * off or slow down one replica while the others carry on. The store keeps
 * the clock it was made with, as a server has its own: a test may give a
 * client another one (a wall clock that steps) without moving the server's.
 *
 * `destroy` and `recreate` are an operator's `kv.destroy()` and creating the
 * bucket again: while it is gone every operation fails with `KvError`; the
 * new stream is empty, its revisions start over at 1 and its `created` is
 * later. Views made before keep working on the new stream, as a nats.js
 * handle does (it names the stream, not one incarnation of it), but watches
 * started before the destroy deliver nothing more: pessimistic, since
 * whether a nats.js watch resumes on a new stream is not something to rely on.
 */
import { Clock, Effect, Latch, Option, PubSub, Stream } from "effect"
import type { KvBucket, KvEntryChange, KvValue } from "../KvBucket.ts"
import { KvConflict, KvError } from "../NatsError.ts"

export interface MemoryKvOptions {
  /** Like the bucket's `ttl`: keys not written for this long are gone. Absent or 0: keys never expire. */
  readonly ttlMillis?: number
}

export interface MemoryKvBucket extends KvBucket {
  /**
   * While on, every operation of this view waits, as if its requests never
   * reached the server, and its watches deliver nothing. Turning it off lets
   * waiting operations through and delivers the changes a watch missed. An
   * operation interrupted while waiting never happened.
   */
  readonly partition: (on: boolean) => Effect.Effect<void>
  /**
   * Delays every reply of this view by `millis` after the bucket has applied
   * the operation, as a slow network would: a client that gives up waiting
   * has still written. Watches are not delayed. 0 turns it off.
   */
  readonly delayReplies: (millis: number) => Effect.Effect<void>
}

export interface MemoryKvStore {
  readonly name: string
  /** A new client of the bucket, connected until its own `partition` says otherwise. */
  readonly view: Effect.Effect<MemoryKvBucket>
  /** Deletes the bucket's stream: every operation fails with `KvError` until `recreate`. */
  readonly destroy: Effect.Effect<void>
  /** Creates the stream anew (destroying it first if need be), with the same options: empty, revisions from 1. */
  readonly recreate: Effect.Effect<void>
  /** True between `destroy` and `recreate`. */
  readonly destroyed: Effect.Effect<boolean>
}

/** A change, with the incarnation of the stream it was written to. */
interface StreamChange {
  readonly incarnation: number
  readonly change: KvEntryChange
}

/** The last message written for a key, as the bucket's stream holds it. */
interface Entry {
  readonly revision: number
  readonly operation: "PUT" | "DEL"
  readonly value: string
  readonly writtenAt: number
}

export const makeMemoryKvStore = (name: string, options: MemoryKvOptions = {}): Effect.Effect<MemoryKvStore> =>
  Effect.gen(function*() {
    const ttlMillis = options.ttlMillis ?? 0
    const clock = yield* Clock.Clock
    const entries = new Map<string, Entry>()
    const changes = yield* PubSub.unbounded<StreamChange>()
    let lastRevision = 0
    let incarnation = 0
    let destroyed = false
    let createdAt = clock.currentTimeMillisUnsafe()

    /** The key's last message, unless the TTL has removed it. */
    const lastEntry = (key: string, now: number): Entry | undefined => {
      const entry = entries.get(key)
      if (entry !== undefined && ttlMillis > 0 && now - entry.writtenAt >= ttlMillis) {
        entries.delete(key)
        return undefined
      }
      return entry
    }

    const write = (key: string, operation: Entry["operation"], value: string, now: number): number => {
      const revision = ++lastRevision
      entries.set(key, { revision, operation, value, writtenAt: now })
      PubSub.publishUnsafe(changes, { incarnation, change: { key, revision, operation, value, writtenAt: now, pending: 0 } })
      return revision
    }

    const conflict = (key: string) =>
      new KvConflict({ bucket: name, key, message: `${name}/${key} changed since it was read` })

    // Each operation reads, checks and writes in one synchronous step, so
    // concurrent fibers see compare-and-set exactly as the server applies it.
    const atomically = <A, E>(operation: string, f: (now: number) => Effect.Effect<A, E>) =>
      Effect.suspend((): Effect.Effect<A, E | KvError> =>
        destroyed
          ? Effect.fail(
            new KvError({ bucket: name, operation, message: `KV ${operation} on ${name} failed: stream not found` })
          )
          : f(clock.currentTimeMillisUnsafe())
      )

    const destroy = Effect.sync(() => {
      destroyed = true
      entries.clear()
    })
    const recreate = Effect.sync(() => {
      entries.clear()
      lastRevision = 0
      incarnation++
      destroyed = false
      createdAt = clock.currentTimeMillisUnsafe()
    })

    const bucket: KvBucket = {
      name,
      created: atomically("status", () => Effect.succeed(createdAt)),
      get: (key) =>
        atomically("get", (now) => {
          const entry = lastEntry(key, now)
          return Effect.succeed(
            entry?.operation === "PUT"
              ? Option.some<KvValue>({ revision: entry.revision, value: entry.value })
              : Option.none()
          )
        }),
      create: (key, value) =>
        atomically("create", (now) =>
          lastEntry(key, now)?.operation === "PUT"
            ? Effect.fail(conflict(key))
            : Effect.succeed(write(key, "PUT", value, now))
        ),
      update: (key, value, revision) =>
        atomically("update", (now): Effect.Effect<number, KvConflict | KvError> => {
          // nats.js refuses these before sending anything.
          if (revision <= 0) {
            return Effect.fail(
              new KvError({ bucket: name, operation: "update", message: "version must be greater than 0" })
            )
          }
          return (lastEntry(key, now)?.revision ?? 0) === revision
            ? Effect.succeed(write(key, "PUT", value, now))
            : Effect.fail(conflict(key))
        }),
      deleteAt: (key, revision) =>
        atomically("delete", (now) =>
          (lastEntry(key, now)?.revision ?? 0) === revision
            ? Effect.sync(() => void write(key, "DEL", "", now))
            : Effect.fail(conflict(key))
        ),
      watch: (key) =>
        Stream.unwrap(
          Effect.map(PubSub.subscribe(changes), (subscription) => {
            const watched = incarnation
            return Stream.fromSubscription(subscription).pipe(
              Stream.filter((sent) => sent.incarnation === watched && sent.change.key === key),
              Stream.map(({ change }) => ({ key: change.key, revision: change.revision, operation: change.operation }))
            )
          })
        ),
      watchAll: (keys) =>
        Stream.unwrap(
          Effect.map(PubSub.subscribe(changes), (subscription) => {
            const watched = incarnation
            const matches = keyPattern(keys)
            const now = clock.currentTimeMillisUnsafe()
            const initial: Array<Omit<KvEntryChange, "pending">> = []
            for (const key of [...entries.keys()]) {
              const entry = lastEntry(key, now)
              if (entry?.operation === "PUT" && matches(key)) {
                initial.push({ key, revision: entry.revision, operation: "PUT", value: entry.value, writtenAt: entry.writtenAt })
              }
            }
            // In stream order, each saying how many of the replay are still to come, as a nats.js watch does.
            const replay = initial.sort((a, b) => a.revision - b.revision)
              .map((change, index): KvEntryChange => ({ ...change, pending: initial.length - 1 - index }))
            return Stream.concat(
              Stream.fromIterable(replay),
              Stream.fromSubscription(subscription).pipe(
                Stream.filter((sent) => sent.incarnation === watched && matches(sent.change.key)),
                Stream.map((sent) => sent.change)
              )
            )
          })
        )
    }

    const view = Effect.map(Latch.make(true), (connected): MemoryKvBucket => {
      let replyDelayMillis = 0
      const call = <A, E>(operation: Effect.Effect<A, E>): Effect.Effect<A, E> =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(connected.whenOpen(operation))
          if (replyDelayMillis > 0) yield* Effect.sleep(replyDelayMillis)
          return yield* exit
        })
      return {
        name,
        created: call(bucket.created),
        get: (key) => call(bucket.get(key)),
        create: (key, value) => call(bucket.create(key, value)),
        update: (key, value, revision) => call(bucket.update(key, value, revision)),
        deleteAt: (key, revision) => call(bucket.deleteAt(key, revision)),
        watch: (key) =>
          Stream.unwrap(connected.whenOpen(Effect.succeed(bucket.watch(key)))).pipe(
            Stream.mapEffect((change) => connected.whenOpen(Effect.succeed(change)))
          ),
        watchAll: (keys) =>
          Stream.unwrap(connected.whenOpen(Effect.succeed(bucket.watchAll(keys)))).pipe(
            Stream.mapEffect((change) => connected.whenOpen(Effect.succeed(change)))
          ),
        partition: (on) => Effect.asVoid(on ? connected.close : connected.open),
        delayReplies: (millis) =>
          Effect.sync(() => {
            replyDelayMillis = millis
          })
      }
    })

    return { name, view, destroy, recreate, destroyed: Effect.sync(() => destroyed) }
  })

/** Whether a key matches a subject-style pattern: tokens separated by dots, `*` one token, a final `>` the rest. */
const keyPattern = (pattern: string) => {
  const wanted = pattern.split(".")
  return (key: string): boolean => {
    const tokens = key.split(".")
    for (let index = 0; index < wanted.length; index++) {
      if (wanted[index] === ">") return tokens.length > index
      if (index >= tokens.length || (wanted[index] !== "*" && wanted[index] !== tokens[index])) return false
    }
    return tokens.length === wanted.length
  }
}

/** A bucket with a single client; use `makeMemoryKvStore` to partition one replica from the others. */
export const makeMemoryKvBucket = (name: string, options: MemoryKvOptions = {}): Effect.Effect<MemoryKvBucket> =>
  Effect.flatMap(makeMemoryKvStore(name, options), (store) => store.view)
