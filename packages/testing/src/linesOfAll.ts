/**
 * Log lines of several replicas as one history, in the order they were
 * logged. Each replica's own lines are in order; across replicas only the
 * lines' `time` says which came first, so "the last replica that minted" is
 * the last of this list, not of one replica after another (Observe's test
 * took the first replica's initial mint for the later one of a report).
 */
import type { LogLine, LogPredicate } from "./LogLine.ts"

export interface LoggedBy<R> {
  readonly replica: R
  readonly line: LogLine
}

export const linesOfAll = <R extends { lines(predicate: LogPredicate): Array<LogLine> }>(
  replicas: ReadonlyArray<R>,
  predicate: LogPredicate
): Array<LoggedBy<R>> =>
  replicas
    .flatMap((replica) => replica.lines(predicate).map((line) => ({ replica, line })))
    // Stable: lines of one millisecond keep each replica's own order.
    .sort((a, b) => a.line.time - b.line.time)
