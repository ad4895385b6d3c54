/**
 * A replica's log as the harness reads it: pino JSON lines on stdout, each
 * parsed into a `LogLine`, and predicates to find the ones a test or the
 * bench waits on ("became leader", "minted and committed a token", ...).
 */

/** One pino line as a replica writes it. */
export interface LogLine {
  readonly level: number
  readonly time: number
  readonly msg: string
  readonly pid?: number
  readonly replica?: string
  readonly provider?: string
  readonly [field: string]: unknown
}

export type LogPredicate = (line: LogLine) => boolean

/** Matches a line by its `msg`, and optionally by other fields (e.g. `{ provider: "project44" }`). */
export const logMsg = (msg: string, fields: Readonly<Record<string, unknown>> = {}): LogPredicate => (line) =>
  line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value)

/** The line as a LogLine, or undefined if it is not a JSON object with a `msg`. */
export const parseLogLine = (text: string): LogLine | undefined => {
  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === "object" && parsed !== null && "msg" in parsed ? (parsed as LogLine) : undefined
  } catch {
    return undefined
  }
}
