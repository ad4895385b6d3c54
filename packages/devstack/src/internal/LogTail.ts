/**
 * What nats-server writes to stderr, line by line, with the last lines kept
 * for error messages. The stream is read for as long as the process lives:
 * a pipe nobody reads fills up and blocks the server on its next log line.
 */
import type { Readable } from "node:stream"

const KEPT_LINES = 20

export interface LogTail {
  /** The last non-empty line, or "no output". */
  readonly lastLine: () => string
}

/** Calls `onLine` for every complete line `stream` delivers from now on. */
export const followLog = (stream: Readable, onLine: (line: string) => void): LogTail => {
  const lines: Array<string> = []
  let partial = ""
  stream.setEncoding("utf8")
  stream.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n")
    partial = parts.pop() ?? ""
    for (const line of parts) {
      if (line.trim() === "") continue
      lines.push(line)
      if (lines.length > KEPT_LINES) lines.shift()
      onLine(line)
    }
  })
  return { lastLine: () => lines.at(-1) ?? (partial.trim() || "no output") }
}
