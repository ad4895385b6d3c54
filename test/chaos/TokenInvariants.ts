/**
 * The invariants about tokens and who commits them: at most one token per
 * version (one commit in the replicas' logs, one token among what the
 * consumers held), versions a consumer sees only grow, no two replicas
 * elected or committing in one term, and `getToken` never failing for a
 * consumer holding a token while a replica is up.
 */
import { PROVIDERS } from "./ChaosSettings.ts"
import { type CheckInput, commits, groupBy, offset, type Verdict } from "./CheckInput.ts"
import type { LogEvent } from "./History.ts"
import { heldByConsumer } from "./Timeline.ts"

const describeCommit = (input: CheckInput, line: LogEvent) =>
  `${line.replica} term ${line.term} v${line.version} at ${offset(input, line.at)}`

export const oneTokenPerVersion = (input: CheckInput): Verdict => {
  const violations: Array<string> = []
  const byVersion = groupBy(commits(input), (line) => `${line.provider} v${line.version}`)
  for (const [version, lines] of byVersion) {
    if (lines.length < 2) continue
    const described = lines.map((line) => describeCommit(input, line)).join("; ")
    violations.push(`${version} committed ${lines.length} times: ${described}`)
  }
  const seen = [
    ...input.history.of("held").flatMap((e) => (e.version === undefined || e.token === undefined ? [] : [e])),
    ...input.history.of("op").flatMap((e) => (e.version === undefined || e.token === undefined ? [] : [e]))
  ]
  const tokens = groupBy(seen, (event) => `${event.provider} v${event.version}`)
  for (const [version, events] of tokens) {
    const distinct = new Set(events.map((event) => event.token))
    if (distinct.size > 1) violations.push(`${version} seen by consumers as ${distinct.size} different tokens`)
  }
  return {
    invariant: "at most one token per version",
    observed: `${byVersion.size} versions committed; ${tokens.size} seen by consumers`,
    bound: "1 commit and 1 token per version",
    violations
  }
}

type Versioned = { readonly at: number; readonly version?: number | undefined }

export const versionsGrow = (input: CheckInput): Verdict => {
  const violations: Array<string> = []
  let sequences = 0
  const check = (what: string, events: ReadonlyArray<Versioned>) => {
    sequences++
    let newest = 0
    for (const event of events) {
      if (event.version === undefined) continue
      if (event.version < newest) {
        violations.push(`${what}: v${event.version} after v${newest} at ${offset(input, event.at)}`)
      }
      newest = Math.max(newest, event.version)
    }
  }
  for (const provider of PROVIDERS) {
    for (const [consumer, held] of heldByConsumer(input.history, provider)) check(`${consumer} holds ${provider}`, held)
    const gets = input.history.of("op").filter((op) => op.provider === provider && op.op === "getToken")
    for (const [consumer, ops] of groupBy(gets, (op) => op.consumer)) check(`${consumer} getToken ${provider}`, ops)
  }
  return {
    invariant: "versions a consumer sees only grow",
    observed: `${sequences} sequences (held tokens and getToken results per consumer and provider)`,
    bound: "never a lower version after a higher one",
    violations
  }
}

export const oneCommitterPerTerm = (input: CheckInput): Verdict => {
  const violations: Array<string> = []
  const check = (lines: ReadonlyArray<LogEvent>, verb: string) => {
    const byTerm = groupBy(lines, (line) => `${line.provider} term ${line.term}`)
    for (const [term, inTerm] of byTerm) {
      const replicas = new Set(inTerm.map((line) => line.replica))
      if (replicas.size > 1) violations.push(`${term} ${verb} by ${[...replicas].join(", ")}`)
    }
    return byTerm.size
  }
  const committed = check(commits(input), "committed")
  const elected = check(input.history.of("log").filter((line) => line.msg === "became leader"), "won")
  return {
    invariant: "no two replicas commit in one term",
    observed: `${elected} terms elected; commits in ${committed}`,
    bound: "1 replica per term",
    violations
  }
}

export const getTokenWhileHolding = (input: CheckInput): Verdict => {
  const calls = input.history.of("op").filter((op) => op.op === "getToken" && op.held && op.replicasUp > 0)
  const failed = calls.filter((op) => !op.ok)
  return {
    invariant: "getToken never fails while holding a token",
    observed: `${calls.length} calls by consumers holding a token with a replica up; ${failed.length} failed`,
    bound: "0 failures",
    violations: failed.map((op) => `${op.consumer} ${op.provider} at ${offset(input, op.start)}: ${op.error}`)
  }
}
