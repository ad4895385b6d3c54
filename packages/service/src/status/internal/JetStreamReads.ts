/**
 * Read-only access to a KV bucket's stream through the JetStream API's JSON
 * requests, for the operator's commands. Opening a bucket the way replicas
 * do (`NatsConnection.bucket`) would create a missing one and apply settings
 * to an existing one, and watching it takes a consumer: an operator's
 * `status` or `watch` must change nothing, and needs only two read-only
 * permissions per bucket (`STREAM.INFO` and `STREAM.MSG.GET`,
 * docs/permissions.md). Only committed values are read: a stream message
 * exists only once JetStream stored it, where a plain subscription to
 * `$KV.<bucket>.>` would also see a compare-and-set write it refused.
 */
import type { NatsConnection, NatsRequestError } from "@tokenbus/nats"
import { Data, Effect, Option, Schema } from "effect"

const requestMillis = 5000

/** A read the server refused or answered with something else than the API's JSON. */
export class StatusReadError extends Data.TaggedError("StatusReadError")<{
  /** What was read: a bucket, or the subject a subscription was refused. */
  readonly source: string
  readonly message: string
}> {}

/** One message of a bucket's stream: a key's value at a revision, or its deletion. */
export interface StreamEntry {
  readonly key: string
  readonly revision: number
  readonly operation: "PUT" | "DEL" | "PURGE"
  readonly value: string
  /** When the server stored it, epoch milliseconds. */
  readonly storedAt: number
}

const ApiError = Schema.Struct({ code: Schema.Number, description: Schema.optionalKey(Schema.String) })

const InfoReply = Schema.Struct({
  error: Schema.optionalKey(ApiError),
  state: Schema.optionalKey(Schema.Struct({
    last_seq: Schema.Number,
    subjects: Schema.optionalKey(Schema.Record(Schema.String, Schema.Number))
  }))
})

const MessageReply = Schema.Struct({
  error: Schema.optionalKey(ApiError),
  message: Schema.optionalKey(Schema.Struct({
    subject: Schema.String,
    seq: Schema.Number,
    hdrs: Schema.optionalKey(Schema.String),
    data: Schema.optionalKey(Schema.String),
    time: Schema.String
  }))
})

const decodeInfo = Schema.decodeUnknownOption(Schema.fromJsonString(InfoReply))
const decodeMessage = Schema.decodeUnknownOption(Schema.fromJsonString(MessageReply))

const stream = (bucket: string) => `KV_${bucket}`
const keySubject = (bucket: string, key: string) => `$KV.${bucket}.${key}`

/** The KV operation a stored message's headers name; a message without one is a value. */
const operationOf = (headers: string | undefined): StreamEntry["operation"] => {
  const text = headers === undefined ? "" : Buffer.from(headers, "base64").toString("utf8")
  const found = /^KV-Operation:\s*(DEL|PURGE)\s*$/im.exec(text)
  return found?.[1] === "DEL" ? "DEL" : found?.[1] === "PURGE" ? "PURGE" : "PUT"
}

const ask = (nats: NatsConnection["Service"], bucket: string, subject: string, payload: object) =>
  nats.request(subject, JSON.stringify(payload), requestMillis).pipe(
    Effect.mapError((error: NatsRequestError) =>
      new StatusReadError({ source: bucket, message: `cannot read KV bucket ${bucket}: ${error.message}` })
    )
  )

const unreadable = (bucket: string, what: string) =>
  new StatusReadError({ source: bucket, message: `KV bucket ${bucket}: the answer to ${what} does not decode` })

const refused = (bucket: string, error: typeof ApiError.Type) =>
  new StatusReadError({ source: bucket, message: `KV bucket ${bucket}: ${error.description ?? `error ${error.code}`}` })

export interface BucketContents {
  /** The keys that have a message in the stream (deleted ones included: their last message says so). */
  readonly keys: ReadonlyArray<string>
  /** The revision of the bucket's last write: the next write is above it. */
  readonly lastRevision: number
}

/** The keys under `filter` (a KV key pattern, `>` for all); a bucket that does not exist has none. */
export const bucketContents = (nats: NatsConnection["Service"], bucket: string, filter = ">") =>
  ask(nats, bucket, `$JS.API.STREAM.INFO.${stream(bucket)}`, { subjects_filter: keySubject(bucket, filter) }).pipe(
    Effect.flatMap((text): Effect.Effect<BucketContents, StatusReadError> => {
      const reply = decodeInfo(text)
      if (Option.isNone(reply)) return Effect.fail(unreadable(bucket, "a stream info request"))
      const { error, state } = reply.value
      if (error?.code === 404) return Effect.succeed({ keys: [], lastRevision: 0 })
      if (error !== undefined) return Effect.fail(refused(bucket, error))
      const prefix = keySubject(bucket, "")
      const keys = Object.keys(state?.subjects ?? {}).map((subject) => subject.slice(prefix.length)).sort()
      return Effect.succeed({ keys, lastRevision: state?.last_seq ?? 0 })
    })
  )

const entryOf = (bucket: string, text: string, what: string) => {
  const reply = decodeMessage(text)
  if (Option.isNone(reply)) return Effect.fail(unreadable(bucket, what))
  const { error, message } = reply.value
  if (error?.code === 404 || message === undefined) return Effect.succeed(Option.none<StreamEntry>())
  if (error !== undefined) return Effect.fail(refused(bucket, error))
  return Effect.succeed(Option.some<StreamEntry>({
    key: message.subject.slice(keySubject(bucket, "").length),
    revision: message.seq,
    operation: operationOf(message.hdrs),
    value: message.data === undefined ? "" : Buffer.from(message.data, "base64").toString("utf8"),
    storedAt: Date.parse(message.time)
  }))
}

/** The last message of `key`: its value, or its deletion; none if it never had one. */
export const lastEntry = (nats: NatsConnection["Service"], bucket: string, key: string) =>
  ask(nats, bucket, `$JS.API.STREAM.MSG.GET.${stream(bucket)}`, { last_by_subj: keySubject(bucket, key) }).pipe(
    Effect.flatMap((text) => entryOf(bucket, text, `a read of ${key}`))
  )

/** The first message at or after `revision` of any key under `filter`; none if there is none yet. */
export const entryFrom = (nats: NatsConnection["Service"], bucket: string, revision: number, filter = ">") =>
  ask(nats, bucket, `$JS.API.STREAM.MSG.GET.${stream(bucket)}`, {
    seq: revision,
    next_by_subj: keySubject(bucket, filter)
  }).pipe(Effect.flatMap((text) => entryOf(bucket, text, `a read from revision ${revision}`)))
