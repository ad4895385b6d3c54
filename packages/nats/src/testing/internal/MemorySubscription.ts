/**
 * One subscription on the in-memory server. The server drops each message
 * into the subscription's mailbox and a fiber of its own hands them to the
 * callback in arrival order: a publish never runs a subscriber inside the
 * publisher's call, as over a socket, and everything runs on Effect's
 * scheduler, so TestClock and `Effect.yieldNow` decide when.
 *
 * Closing the scope works like nats.js's drain: the server stops sending at
 * once, and messages already in the mailbox are still handed over, for at
 * most `drainMillis`.
 */
import { type Cause, Effect, Fiber, Queue, type Scope } from "effect"
import type { InboundMessage } from "../../NatsConnection.ts"
import { drainMillis } from "../../internal/Serve.ts"
import type { Delivery, Router } from "./Router.ts"
import { patternTokens } from "./SubjectPattern.ts"

export interface SubscriptionSpec {
  readonly subject: string
  readonly queue: string | undefined
  /** False while the subscribing client is disconnected or closed. */
  readonly live: () => boolean
  /** What the client's callback sees: the delivery with `respond` bound to that client. */
  readonly toMessage: (delivery: Delivery) => InboundMessage
  readonly onMessage: (message: InboundMessage) => void
}

// A callback that throws would otherwise end the subscription's fiber, and all delivery to it, unseen.
const handOver = (spec: SubscriptionSpec, delivery: Delivery) =>
  Effect.sync(() => spec.onMessage(spec.toMessage(delivery))).pipe(
    Effect.catchDefect((defect) =>
      Effect.logError("a subscription callback threw").pipe(
        Effect.annotateLogs({ subject: delivery.subject, defect: String(defect) })
      )
    )
  )

export const subscribeOn = (router: Router, spec: SubscriptionSpec): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pattern = patternTokens(spec.subject)
    if (pattern === undefined) return yield* Effect.die(new Error(`invalid subscription subject "${spec.subject}"`))
    const mailbox = yield* Queue.unbounded<Delivery, Cause.Done>()
    // A batch per wake-up, as nats.js hands over every message of one socket read in one go.
    const consumer = yield* Queue.takeAll(mailbox).pipe(
      Effect.flatMap((batch) => Effect.forEach(batch, (delivery) => handOver(spec, delivery), { discard: true })),
      Effect.forever,
      Effect.ignore,
      Effect.forkScoped
    )
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        router.add({
          pattern,
          queue: spec.queue,
          live: spec.live,
          deliver: (delivery) => void Queue.offerUnsafe(mailbox, delivery)
        })
      ),
      (remove) =>
        Effect.sync(remove).pipe(
          Effect.andThen(Queue.end(mailbox)),
          Effect.andThen(Fiber.await(consumer).pipe(Effect.timeout(drainMillis), Effect.ignore))
        )
    )
  })
