// Every log line an effect and the fibers it forks write, message and
// annotations, kept for a test to read: how the client's bounded warnings
// are checked.
import { Effect, Logger, References } from "effect"

export interface Line {
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** Runs `test` with every log line captured into `lines`. */
export const capturingLogs = <A, E, R>(lines: Array<Line>, test: Effect.Effect<A, E, R>) =>
  test.pipe(Effect.provide(Logger.layer([
    Logger.make(({ fiber, message }) => {
      const parts = Array.isArray(message) ? message : [message]
      const annotations = { ...fiber.getRef(References.CurrentLogAnnotations) }
      lines.push({ message: parts.map(String).join(" "), annotations })
    })
  ])))
