// Every log line an effect and the fibers it forks write, kept for a test to
// read: when (on the test clock), level, message, annotations, and whether
// the entry carries a defect.
import { Cause, Effect, Logger, References } from "effect"

export interface LogLine {
  /** Test clock time. */
  readonly at: number
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
  /** The entry carries a defect: something threw or died. */
  readonly defect: boolean
}

/** A logger that keeps every line in `lines`. */
const capture = (lines: Array<LogLine>) =>
  Logger.make(({ cause, date, fiber, logLevel, message }) => {
    lines.push({
      at: date.getTime(),
      level: logLevel,
      message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
      annotations: { ...fiber.getRef(References.CurrentLogAnnotations) },
      defect: Cause.hasDies(cause)
    })
  })

/** The logger layer keeping every line in `lines`: for a test that provides it itself. */
export const capturingLayer = (lines: Array<LogLine>) => Logger.layer([capture(lines)])

/** Runs `effect` with every line it and the fibers it forks log kept in `lines`. */
export const capturingLogs = <A, E, R>(lines: Array<LogLine>, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provide(capturingLayer(lines)))
