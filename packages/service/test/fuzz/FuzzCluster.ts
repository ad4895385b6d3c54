// Real replicas on the in-memory NATS, set up for fuzzing the decoders on
// their subjects under TestClock: two replicas whose caches the test can
// read, a consumer that sends what fast-check makes, a spy that counts the
// replies to each of the consumer's requests (a second reply to one request
// is a failure), every log line captured, and the upstream's call counter.
import { makeSubjects, type TokenCache, type TokenReply, TokenReplyJson } from "@tokenbus/core"
import { assert } from "@effect/vitest"
import fc from "fast-check"
import { Cause, Effect, Exit, Fiber, type Redacted, Schema } from "effect"
import { TestClock } from "effect/testing"
import {
  advance,
  configFor,
  makeMemoryNats,
  makeUpstream,
  prefix,
  PROVIDER,
  providerFor
} from "../support/MemoryCluster.ts"
import { startReplicaParts } from "../support/ReplicaParts.ts"

export { capturingLogs, type LogLine } from "../support/CapturedLogs.ts"
export { PROVIDER }
export const subjects = makeSubjects(prefix)

/** What one request got. */
export interface Sent {
  readonly text: string
  readonly reply: TokenReply
  /** How far the test clock had to move before the reply came. */
  readonly waitedMillis: number
}

const decodeReply = Schema.decodeUnknownExit(TokenReplyJson)

/** Scheduler turns a request may take before the clock is moved: replies that need no time come within them. */
const turnsBeforeTime = 100

/** A replica as `Replica.layer` runs it (ReplicaParts.ts), whose cache the test reads. */
const startReplica = (nats: Effect.Success<typeof makeMemoryNats>, config: ReturnType<typeof configFor>, id: string) =>
  Effect.map(startReplicaParts(nats, config, id), (parts) => parts.cache)

/** The cluster, signing its tokens with `signingKey` (PKCS#8 PEM) if given. */
export const startFuzzCluster = (signingKey?: Redacted.Redacted<string>) => Effect.gen(function*() {
  const nats = yield* makeMemoryNats
  const upstream = yield* makeUpstream
  const unsigned = configFor(providerFor(upstream))
  const config = signingKey === undefined ? unsigned : { ...unsigned, signing: { privateKey: signingKey } }
  const caches: ReadonlyArray<TokenCache> = [
    yield* startReplica(nats, config, "replica-1"),
    yield* startReplica(nats, config, "replica-2")
  ]
  const consumer = yield* nats.connection("fuzz-consumer")
  yield* advance(1_500)
  yield* consumer.request(subjects.get(PROVIDER), "", 5_000)

  // The spy hears every reply to the consumer's requests: its inboxes share the first request's prefix.
  const [first] = (yield* nats.published(subjects.get(PROVIDER))).filter((message) => message.from === "fuzz-consumer")
  const inboxes = first!.reply.slice(0, first!.reply.lastIndexOf("."))
  const replies = new Map<string, number>()
  let duplicates = 0
  const spy = yield* nats.connection("fuzz-spy")
  yield* spy.subscribe(`${inboxes}.*`, {}, (message) => {
    const seen = (replies.get(message.subject) ?? 0) + 1
    replies.set(message.subject, seen)
    if (seen > 1) duplicates += 1
  })
  yield* advance(100)
  const firstReplies = replies.size

  /** Sends `payload` on `subject` and waits for the reply, moving the clock only if it does not come at once. */
  const send = (subject: string, payload: string) =>
    Effect.gen(function*() {
      const heard = replies.size
      const request = yield* consumer.request(subject, payload, 5_000).pipe(Effect.exit, Effect.forkChild)
      let waitedMillis = 0
      for (let turn = 0; request.pollUnsafe() === undefined; turn++) {
        if (turn < turnsBeforeTime) yield* Effect.yieldNow
        else {
          yield* TestClock.adjust(20)
          waitedMillis += 20
        }
      }
      const exit = yield* Fiber.join(request)
      if (Exit.isFailure(exit)) return assert.fail(`no reply on ${subject}: ${Cause.pretty(exit.cause)}`)
      for (let turn = 0; replies.size === heard && turn < turnsBeforeTime; turn++) yield* Effect.yieldNow
      assert.strictEqual(replies.size, heard + 1, "the spy heard the reply")
      const decoded = decodeReply(exit.value)
      if (Exit.isFailure(decoded)) return assert.fail(`a reply that is no TokenReply: ${exit.value.slice(0, 200)}`)
      return { text: exit.value, reply: decoded.value, waitedMillis } satisfies Sent
    })

  return {
    nats,
    consumer,
    caches,
    send,
    /** Calls the upstream got. */
    calls: upstream.calls,
    /** The highest version the replicas hold. */
    held: Effect.sync(() => Math.max(0, ...caches.map((cache) => cache.get(PROVIDER)?.version ?? 0))),
    /** Requests the spy heard a reply to (the warm-up's excluded), and replies beyond the first to one request. */
    heard: Effect.sync(() => ({ requests: replies.size - firstReplies, duplicates })),
    /** Scheduler turns enough for what was published to reach every subscriber. */
    settle: Effect.gen(function*() {
      for (let turn = 0; turn < turnsBeforeTime; turn++) yield* Effect.yieldNow
    })
  }
})

export type FuzzCluster = Effect.Success<ReturnType<typeof startFuzzCluster>>

/**
 * Checks `property` on `runs` values of `arbitrary` with fast-check, each
 * run an Effect in the test's own context (its TestClock, its loggers), so
 * the runs share the cluster the test started and fast-check still shrinks
 * a failure.
 */
export const forAll = <A>(
  runs: number,
  arbitrary: fc.Arbitrary<A>,
  property: (value: A) => Effect.Effect<void, unknown>
) =>
  Effect.gen(function*() {
    const run = Effect.runPromiseWith(yield* Effect.context<never>())
    yield* Effect.promise(() =>
      fc.assert(fc.asyncProperty(arbitrary, (value) => run(property(value))), { numRuns: runs })
    )
  })
