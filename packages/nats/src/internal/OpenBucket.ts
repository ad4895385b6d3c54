/**
 * Opening a KV bucket with the settings its caller needs, on one server or a
 * cluster. A missing bucket is created; an existing one is reconciled: each
 * setting that differs (BucketSettings.ts) is applied to its stream
 * `KV_<name>` one at a time, so that a refusal names the one setting the
 * server would not take, and start-up stops with that message.
 *
 * Right after a server starts, JetStream may still be electing its meta
 * leader (and a cluster may not know all its peers yet), so the whole open is
 * tried again for a while, unless the server refused a setting for good.
 * Every step can be repeated: two replicas starting at once both end with
 * the same bucket.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  type StreamConfig
} from "@nats-io/jetstream"
import { type KvOptions, Kvm } from "@nats-io/kv"
import type { NatsConnection as RawConnection } from "@nats-io/transport-node"
import { Effect, Schedule } from "effect"
import { type KvBucket, makeKvBucket } from "../KvBucket.ts"
import { KvError } from "../NatsError.ts"
import {
  type BucketOptions,
  type BucketSettings,
  changedSettings,
  clusterSize,
  describeValue,
  refusedChangeMessage,
  refusedCreateMessage,
  storedSettings,
  streamPatch,
  wantedSettings
} from "./BucketSettings.ts"

export type { BucketOptions } from "./BucketSettings.ts"

/** Refusals that no retry changes: replicas on a server outside a cluster, a stream config the server rejects. */
const permanentCodes: ReadonlySet<number> = new Set([10074, 10052])

const transient = (error: KvError): boolean =>
  !(error.cause instanceof JetStreamApiError && permanentCodes.has(error.cause.code))

const retrySchedule = Schedule.max([Schedule.exponential("100 millis"), Schedule.recurs(8)])

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** One JetStream call; a rejection becomes a `KvError` whose message `describe` writes from the server's reason. */
const call = <A>(bucket: string, describe: (reason: string) => string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (cause) => new KvError({ bucket, operation: "open", message: describe(messageOf(cause)), cause })
  })

const kvOptions = (wanted: BucketSettings): Partial<KvOptions> => ({
  history: wanted.history,
  replicas: wanted.replicas,
  ...(wanted.ttlMillis > 0 ? { ttl: wanted.ttlMillis } : {})
})

/** Opens bucket `name`, creating it or applying `options` to it; see the module comment. */
export const openBucket = (
  raw: RawConnection,
  name: string,
  options: BucketOptions
): Effect.Effect<KvBucket, KvError> =>
  openOnce(raw, name, options).pipe(
    Effect.retry({ schedule: retrySchedule, while: transient }),
    Effect.map((kv) => makeKvBucket(name, kv))
  )

const openOnce = Effect.fnUntraced(function*(raw: RawConnection, name: string, options: BucketOptions) {
  const cannotOpen = (reason: string) => `cannot open KV bucket ${name}: ${reason}`
  const jsm = yield* call(name, cannotOpen, () => jetstreamManager(raw))
  const existing = yield* call(name, cannotOpen, () =>
    jsm.streams.info(`KV_${name}`).catch((cause: unknown) =>
      cause instanceof JetStreamApiError && cause.code === JetStreamApiCodes.StreamNotFound
        ? undefined
        : Promise.reject(cause)
    ))
  if (existing === undefined) {
    const wanted = wantedSettings(options, raw.info, undefined)
    yield* warnIfFewerThanDefault(name, options, wanted, raw.info)
    const describe = (reason: string) => refusedCreateMessage(name, wanted, reason, options)
    return yield* call(name, describe, () => new Kvm(raw).create(name, kvOptions(wanted)))
  }
  const wanted = yield* reconcile(jsm, name, options, existing.config, raw.info)
  // Opens the bucket as it now is (Kvm.create opens an existing one).
  return yield* call(name, cannotOpen, () => new Kvm(raw).create(name, kvOptions(wanted)))
})

/** Applies each setting of `options` the stream does not have yet; returns the settings it now has. */
const reconcile = Effect.fnUntraced(function*(
  jsm: JetStreamManager,
  name: string,
  options: BucketOptions,
  config: StreamConfig,
  info: RawConnection["info"]
) {
  const stored = storedSettings(config)
  const wanted = wantedSettings(options, info, stored)
  for (const setting of changedSettings(stored, wanted)) {
    const describe = (reason: string) => refusedChangeMessage(name, setting, stored, wanted, reason, options)
    yield* call(name, describe, () => jsm.streams.update(config.name, streamPatch(setting, wanted, config)))
    yield* Effect.logInfo("changed a setting of a KV bucket").pipe(Effect.annotateLogs({
      bucket: name,
      setting: options.settingNames?.[setting] ?? setting,
      from: describeValue(setting, stored[setting]),
      to: describeValue(setting, wanted[setting])
    }))
  }
  if (wanted.replicas !== stored.replicas) yield* awaitStreamLeader(jsm, name)
  return wanted
})

/**
 * After a change of replicas the stream elects a leader among its new peers;
 * KV calls made before fail. Waits for it, for a while: the lock and the
 * store retry their own calls anyway.
 */
const awaitStreamLeader = (jsm: JetStreamManager, name: string) =>
  call(name, (reason) => reason, () => jsm.streams.info(`KV_${name}`)).pipe(
    Effect.flatMap((info) =>
      info.cluster?.leader === undefined
        ? Effect.fail(new KvError({ bucket: name, operation: "open", message: "no stream leader yet" }))
        : Effect.void
    ),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo({ duration: "10 seconds" }))),
    Effect.ignore
  )

/** A cluster that shows fewer servers than the default wants (some down, or not routed yet) gets fewer copies. */
const warnIfFewerThanDefault = (
  name: string,
  options: BucketOptions,
  wanted: BucketSettings,
  info: RawConnection["info"]
) =>
  options.replicas === undefined && info?.cluster !== undefined && wanted.replicas < 3
    ? Effect.logWarning("the NATS cluster shows fewer than 3 servers: the new KV bucket has fewer replicas").pipe(
      Effect.annotateLogs({ bucket: name, replicas: wanted.replicas, servers: clusterSize(info) ?? "unknown" })
    )
    : Effect.void
