/**
 * Answering requests on top of a subscription, shared by the real connection
 * and the in-memory one so both close the same way: stop taking messages,
 * then wait (bounded) for the answers already under way, so a replica
 * shutting down does not drop requests NATS had already routed to it.
 */
import { Effect, FiberSet, type Scope } from "effect"

/** How long closing a subscription may wait for messages already in flight. */
export const drainMillis = 2_000

export const serveWith = <Message, R>(
  subscribe: (onMessage: (message: Message) => void) => Effect.Effect<void, never, Scope.Scope>,
  handle: (message: Message) => Effect.Effect<void, never, R> | undefined
): Effect.Effect<void, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const answering = yield* FiberSet.make<void, never>()
    const run = yield* FiberSet.runtime(answering)<R>()
    // Finalizers run last-in first-out: drain the subscription, then wait for the answers under way.
    yield* Effect.addFinalizer(() => FiberSet.awaitEmpty(answering).pipe(Effect.timeout(drainMillis), Effect.ignore))
    yield* subscribe((message) => {
      const answer = handle(message)
      if (answer !== undefined) run(answer)
    })
  })
