/**
 * After a reconnect, the broadcasts sent while the client was away are lost
 * for good (NATS keeps nothing for a subscriber that was not there), so the
 * client asks again for every provider it holds a token of. A failure is
 * only logged: the token held is still served, and the next broadcast or a
 * 401 report brings the new one.
 */
import { Effect, type Scope, Stream } from "effect"

export const catchUpOnReconnect = (
  reconnects: Stream.Stream<void>,
  held: () => Iterable<string>,
  refresh: (provider: string) => Effect.Effect<unknown, { readonly message: string }>
): Effect.Effect<void, never, Scope.Scope> =>
  reconnects.pipe(
    Stream.runForEach(() =>
      Effect.forEach([...held()], (provider) =>
        refresh(provider).pipe(
          Effect.catch((error) =>
            Effect.logWarning("could not fetch the current token again after reconnecting").pipe(
              Effect.annotateLogs({ provider, reason: error.message })
            )
          )
        ), { concurrency: "unbounded", discard: true })
    ),
    Effect.forkScoped({ startImmediately: true }),
    Effect.asVoid
  )
