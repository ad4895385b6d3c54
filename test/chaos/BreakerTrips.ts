/**
 * Why a provider's circuit breaker tripped, read from the history: the
 * trip's own message, and for a trip on an in-doubt call (one recorded
 * before the upstream call and never committed) what became of the replica
 * that made it between recording the call and the trip, and what the
 * upstream saw meanwhile. That tells a leader that died or froze with the
 * call in flight (the refresh token really is in doubt) from one that was
 * alive, held the upstream's answer and did not commit it.
 */
import { type CheckInput, offset } from "./CheckInput.ts"
import type { LogEvent } from "./History.ts"

const TRIP = /^the upstream rejected the credentials of [^:]+: /
const IN_DOUBT = /a call to the upstream by (\S+) \(term (\d+)\) at (\S+) may have spent/
const STATE_LOST = /the provider's state in KV was lost/

export interface BreakerTrip {
  readonly line: LogEvent
  readonly reason: string
  /** For a trip on an in-doubt call: who made it and what happened to it. */
  readonly inDoubt?: string
  /**
   * The outcome the product documents (ARCHITECTURE, "Minting under a rate
   * limit"): the carry really was in doubt, because the replica that made the
   * call was killed, stopped or cut off (it lost its lease) with it in flight, or the state was lost with
   * its bucket. The provider then waits for an operator, by design.
   */
  readonly documented: boolean
}

const describeInDoubt = (input: CheckInput, trip: LogEvent, match: RegExpExecArray) => {
  const [, holderId, term, when] = match
  const since = Date.parse(when as string)
  const { history } = input
  const holder = history.of("log").find((line) => line.replicaId === holderId)?.replica ?? holderId
  const struck = history.of("signal")
    .filter((signal) => signal.replica === holder && signal.at >= since && signal.at <= trip.at)
    .filter((signal) => signal.signal === "SIGKILL" || signal.signal === "SIGSTOP" || signal.signal === "SIGTERM")
    .map((signal) => `${signal.signal} at ${offset(input, signal.at)}`)
  const calls = history.of("upstream")
    .filter((call) => call.provider === trip.provider && call.at >= since && call.at <= trip.at)
    .map((call) => `${offset(input, call.at)} (${call.status ?? "no answer"})`)
  // Cut off from NATS (a node paused or killed), the holder loses its lease before it can commit: from the
  // cluster's side the same lost answer as a frozen process. A holder that kept its lease and did not commit
  // is a product bug, and stays undocumented.
  const steppedDown = history.of("log")
    .filter((line) => line.replica === holder && line.provider === trip.provider && line.msg === "stepped down")
    .filter((line) => line.at >= since && line.at <= trip.at)
    .map((line) => `stepped down (lease lost) at ${offset(input, line.at)}`)
  const lost = [...struck, ...steppedDown]
  const fate = lost.length === 0
    ? `${holder} was neither killed nor stopped, and kept its lease, before the trip`
    : `${holder} got ${lost.join(", ")}`
  const seen = calls.length === 0 ? "the upstream saw no call" : `the upstream saw calls at ${calls.join(", ")}`
  const text = `in-doubt call by ${holder} (term ${term}) recorded at ${offset(input, since)}; ${fate}; ${seen}`
  return { text, struck: lost.length > 0 }
}

export const breakerTrips = (input: CheckInput): Array<BreakerTrip> =>
  input.history.of("log").filter((line) => TRIP.test(line.msg)).map((line) => {
    const reason = line.msg.replace(TRIP, "")
    const match = IN_DOUBT.exec(reason)
    if (match === null) return { line, reason, documented: STATE_LOST.test(reason) }
    const { struck, text } = describeInDoubt(input, line, match)
    return { line, reason, inDoubt: text, documented: struck }
  })

/** When each provider was halted by a documented trip, if it was: its recovery is an operator's from then on. */
export const documentedHalts = (input: CheckInput): ReadonlyMap<string, number> => {
  const halts = new Map<string, number>()
  for (const { documented, line } of breakerTrips(input)) {
    if (documented && line.provider !== undefined && !halts.has(line.provider)) halts.set(line.provider, line.at)
  }
  return halts
}
