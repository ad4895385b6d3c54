/**
 * A JetStream KV bucket seen through Effect: reads, compare-and-set writes
 * and a watch, with rejections mapped to `KvConflict` (someone else wrote
 * first, JetStream API code 10071) or `KvError` (anything else), and when the
 * bucket's stream was created, which tells a bucket deleted and made again
 * (its revisions start over at 1) from the one before.
 */
import type { KV, KvEntry } from "@nats-io/kv"
import { Effect, Option, Stream } from "effect"
import { KvConflict, KvError } from "./NatsError.ts"

/** A live value: deleted or purged keys read as absent. */
export interface KvValue {
  readonly revision: number
  readonly value: string
}

export interface KvChange {
  readonly key: string
  readonly revision: number
  readonly operation: "PUT" | "DEL" | "PURGE"
}

/** A change with the value written: empty for a deletion. */
export interface KvEntryChange extends KvChange {
  readonly value: string
  /** When the server stored it (epoch milliseconds, the clock of the stream's leader). */
  readonly writtenAt: number
  /** How many more changes the watch has to deliver after this one (its replay, or a backlog); 0 when caught up. */
  readonly pending: number
}

export interface KvBucket {
  readonly name: string
  readonly get: (key: string) => Effect.Effect<Option.Option<KvValue>, KvError>
  /** Writes `value` only if `key` is absent or deleted; returns the new revision. */
  readonly create: (key: string, value: string) => Effect.Effect<number, KvConflict | KvError>
  /** Writes `value` only if `key` is still at `revision`; returns the new revision. */
  readonly update: (key: string, value: string, revision: number) => Effect.Effect<number, KvConflict | KvError>
  /** Deletes `key` only if it is still at `revision`. */
  readonly deleteAt: (key: string, revision: number) => Effect.Effect<void, KvConflict | KvError>
  /** Changes to `key` from now on. */
  readonly watch: (key: string) => Stream.Stream<KvChange, KvError>
  /**
   * The last value of every live key `keys` matches (a subject-style
   * pattern: `members.>`), then every change to them, with its value.
   */
  readonly watchAll: (keys: string) => Stream.Stream<KvEntryChange, KvError>
  /**
   * When the bucket's stream was created (epoch milliseconds, the server's
   * clock), asked afresh on every run: a bucket deleted and created again
   * under the same name has a later one, and its revisions restart at 1.
   */
  readonly created: Effect.Effect<number, KvError>
}

// 10164 ("wrong last sequence, unknown") is what nats.js itself also treats as a lost race.
const conflictCodes: ReadonlyArray<unknown> = [10071, 10164]

const isConflict = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && "code" in cause && conflictCodes.includes(cause.code)

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

export const makeKvBucket = (name: string, kv: KV): KvBucket => {
  const fail = (operation: string) => (cause: unknown) =>
    new KvError({ bucket: name, operation, message: `KV ${operation} on ${name} failed: ${messageOf(cause)}`, cause })

  const write = (operation: string, key: string, run: () => Promise<number>) =>
    Effect.tryPromise({
      try: run,
      catch: (cause): KvConflict | KvError =>
        isConflict(cause)
          ? new KvConflict({ bucket: name, key, message: `${name}/${key} changed since it was read` })
          : fail(operation)(cause)
    })

  const live = (entry: KvEntry | null): Option.Option<KvValue> =>
    entry === null || entry.operation !== "PUT"
      ? Option.none()
      : Option.some({ revision: entry.revision, value: entry.string() })

  const created = Effect.tryPromise({ try: () => kv.status(), catch: fail("status") }).pipe(
    Effect.flatMap((status) => {
      const millis = Date.parse(status.streamInfo.created)
      return Number.isFinite(millis)
        ? Effect.succeed(millis)
        : Effect.fail(fail("status")(`unreadable creation time "${status.streamInfo.created}"`))
    })
  )

  return {
    name,
    created,
    get: (key) => Effect.tryPromise({ try: () => kv.get(key), catch: fail("get") }).pipe(Effect.map(live)),
    create: (key, value) => write("create", key, () => kv.create(key, value)),
    update: (key, value, revision) => write("update", key, () => kv.update(key, value, revision)),
    deleteAt: (key, revision) =>
      write("delete", key, () => kv.delete(key, { previousSeq: revision }).then(() => revision)).pipe(Effect.asVoid),
    watch: (key) =>
      entries(() => kv.watch({ key, include: "updates" })).pipe(
        Stream.map((entry) => ({ key: entry.key, revision: entry.revision, operation: entry.operation }))
      ),
    watchAll: (keys) =>
      entries(() => kv.watch({ key: keys, include: "" })).pipe(
        Stream.map((entry) => ({
          key: entry.key,
          revision: entry.revision,
          operation: entry.operation,
          value: entry.operation === "PUT" ? entry.string() : "",
          writtenAt: entry.created.getTime(),
          pending: entry.delta ?? 0
        }))
      )
  }

  // A new watch each time the stream runs: a stream run again (a watch restarted) must not reuse a spent iterator.
  function entries(watching: () => Promise<AsyncIterable<KvEntry> & { stop: () => void }>) {
    return Stream.unwrap(
      Effect.tryPromise({ try: watching, catch: fail("watch") }).pipe(
        Effect.map((iterator) =>
          Stream.fromAsyncIterable(iterator, fail("watch")).pipe(Stream.ensuring(Effect.sync(() => iterator.stop())))
        )
      )
    )
  }
}
