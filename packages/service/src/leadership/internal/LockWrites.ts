/**
 * The writes one campaign makes to its lock key, and how to find out what a
 * write whose reply was lost did. Every value written names this process
 * instance (the holder id and a random nonce, so a restarted replica or a
 * misconfigured twin with the same id is someone else) and the attempt. A
 * read showing one of our values therefore proves which of our
 * compare-and-sets landed, and the server stored it no earlier than that
 * attempt was sent: the lease counts from that send time (Lease.ts in core),
 * also for a write that landed long after it was given up on (a request
 * nats.js buffered while disconnected may go out when it reconnects). Reads
 * are trusted for nothing else: a value that is not ours, or none, is never
 * taken as a lock we hold.
 *
 * The send times of attempts whose outcome is unknown (timed out, or failed
 * without the server's answer) are kept until a lease counted from them
 * would be over anyway.
 */
import { type Lease, type LeaseConfig, validUntil } from "@tokenbus/core"
import type { KvBucket, KvConflict, KvError } from "@tokenbus/nats"
import { randomUUID } from "node:crypto"
import { Effect, Option, Schema } from "effect"
import { monotonicMillis } from "./monotonicMillis.ts"

/** A lock's value. Values written before instances were named have only `holder`: never ours. */
const LockValue = Schema.fromJsonString(Schema.Struct({
  holder: Schema.String,
  instance: Schema.optionalKey(Schema.String),
  attempt: Schema.optionalKey(Schema.Int)
}))
const decodeValue = Schema.decodeUnknownOption(LockValue)
const encodeValue = Schema.encodeSync(LockValue)

export type WriteOutcome =
  | { readonly _tag: "Written"; readonly lease: Lease }
  | { readonly _tag: "Conflict" }
  /** The reply was lost or the request failed: the write may or may not have landed. */
  | { readonly _tag: "Unknown"; readonly message: string }

export type Found =
  /** Our value, from an attempt whose send time we know: the lease it gives. */
  | { readonly _tag: "Adopted"; readonly lease: Lease }
  /** Our value, from an attempt too old to lead on: ours to delete. */
  | { readonly _tag: "Stale"; readonly revision: number }
  /** Someone else's lock, or none. */
  | { readonly _tag: "NotOurs" }
  | { readonly _tag: "Unreadable"; readonly message: string }

export interface LockWrites {
  readonly create: (timeoutMillis: number) => Effect.Effect<WriteOutcome>
  readonly update: (revision: number, timeoutMillis: number) => Effect.Effect<WriteOutcome>
  readonly deleteAt: (revision: number) => Effect.Effect<void, KvConflict | KvError>
  /** Reads the key: whether it holds one of our values, and what lease it gives. */
  readonly find: (timeoutMillis: number) => Effect.Effect<Found>
  /** Some write's outcome is unknown, so a conflict may hide one of ours. */
  readonly unsure: Effect.Effect<boolean>
}

export interface LockWritesSpec {
  readonly bucket: KvBucket
  readonly key: string
  readonly holder: string
  readonly lease: LeaseConfig
}

const timedOut = (timeoutMillis: number) => `no reply within ${Math.round(timeoutMillis)} ms`

export const makeLockWrites = (spec: LockWritesSpec): Effect.Effect<LockWrites> =>
  Effect.sync(() => {
    const instance = randomUUID()
    // Attempt number -> monotonic send time, for attempts whose outcome is unknown.
    const unknown = new Map<number, number>()
    let lastAttempt = 0

    // A lease counted from an attempt this old would be over already: it can never be adopted.
    const prune = (now: number) => {
      for (const [attempt, sentAt] of unknown) {
        if (validUntil(spec.lease, { revision: 0, sentAt }) <= now) unknown.delete(attempt)
      }
    }

    const send = (write: (value: string) => Effect.Effect<number, KvConflict | KvError>, timeoutMillis: number) =>
      Effect.gen(function*() {
        const attempt = ++lastAttempt
        const sentAt = yield* monotonicMillis
        const value = encodeValue({ holder: spec.holder, instance, attempt })
        const result = yield* write(value).pipe(Effect.timeoutOption(timeoutMillis), Effect.result)
        if (result._tag === "Success" && Option.isSome(result.success)) {
          return { _tag: "Written", lease: { revision: result.success.value, sentAt } } satisfies WriteOutcome
        }
        if (result._tag === "Failure" && result.failure._tag === "KvConflict") return { _tag: "Conflict" } as const
        unknown.set(attempt, sentAt)
        const message = result._tag === "Failure" ? result.failure.message : timedOut(timeoutMillis)
        return { _tag: "Unknown", message } satisfies WriteOutcome
      })

    const find = (timeoutMillis: number) =>
      Effect.gen(function*() {
        const read = yield* spec.bucket.get(spec.key).pipe(Effect.timeoutOption(timeoutMillis), Effect.result)
        if (read._tag === "Failure") return { _tag: "Unreadable", message: read.failure.message } as const
        if (Option.isNone(read.success)) return { _tag: "Unreadable", message: timedOut(timeoutMillis) } as const
        const entry = read.success.value
        if (Option.isNone(entry)) return { _tag: "NotOurs" } as const
        const { revision, value: raw } = entry.value
        const value = decodeValue(raw)
        if (Option.isNone(value) || value.value.instance !== instance) return { _tag: "NotOurs" } as const
        prune(yield* monotonicMillis)
        const sentAt = value.value.attempt === undefined ? undefined : unknown.get(value.value.attempt)
        if (sentAt === undefined) return { _tag: "Stale", revision } satisfies Found
        return { _tag: "Adopted", lease: { revision, sentAt } } satisfies Found
      })

    return {
      create: (timeoutMillis) => send((value) => spec.bucket.create(spec.key, value), timeoutMillis),
      update: (revision, timeoutMillis) =>
        send((value) => spec.bucket.update(spec.key, value, revision), timeoutMillis),
      deleteAt: (revision) => spec.bucket.deleteAt(spec.key, revision),
      find,
      unsure: Effect.map(monotonicMillis, (now) => {
        prune(now)
        return unknown.size > 0
      })
    } satisfies LockWrites
  })
