/**
 * A warning when a step of a leader that should take moments has not ended
 * after `millis`: what it waits for is then on record (`phase`), where it
 * would otherwise wait without a line. The step itself goes on.
 */
import { Effect, Fiber } from "effect"

export const warnIfSlow = (millis: number, message: string, phase: () => string = () => "") =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.forkChild(
      Effect.sleep(millis).pipe(
        Effect.andThen(Effect.suspend(() => Effect.logWarning(message).pipe(
          Effect.annotateLogs({ afterMillis: millis, ...(phase() === "" ? {} : { phase: phase() }) })
        )))
      )
    ),
    (watch) => Effect.ensuring(effect, Fiber.interrupt(watch))
  )
