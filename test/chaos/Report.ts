/**
 * What a chaos run prints: the invariant table (observed, bound, result), the
 * run's figures (faults injected by kind, mints, 401s, worst recovery after a
 * revocation, worst gap without a leader, violations) and every violation
 * with the events behind it, as Markdown on stdout so it shows in CI output.
 */
import type { RunSettings } from "./ChaosSettings.ts"
import { PROVIDERS } from "./ChaosSettings.ts"
import { breakerTrips } from "./BreakerTrips.ts"
import { type CheckInput, millisOrNever, offset, type Verdict } from "./CheckInput.ts"
import type { History } from "./History.ts"
import { recoveries } from "./RecoveryInvariants.ts"
import { leaderlessSpans } from "./Timeline.ts"
import type { UpstreamCounters } from "./Upstreams.ts"

export interface ReportInput {
  readonly settings: RunSettings
  readonly check: CheckInput
  readonly verdicts: ReadonlyArray<Verdict>
  readonly counters: UpstreamCounters
  readonly end: number
  readonly natsDescription: string
  readonly historyPath: string
}

const countBy = (items: ReadonlyArray<string>): string => {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1)
  const sorted = [...counts].sort(([a], [b]) => a.localeCompare(b))
  return sorted.map(([item, count]) => `${item} ${count}`).join(", ") || "none"
}

const cell = (text: string) => text.replaceAll("|", "\\|")

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => [
  `| ${header.join(" | ")} |`,
  `|${header.map(() => "---").join("|")}|`,
  ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`)
]

const faults = (history: History): string => {
  const events = history.of("fault")
  const failed = events.filter((event) => event.detail.startsWith("failed"))
  return countBy(events.map((event) => event.kind)) + (failed.length === 0 ? "" : `; ${failed.length} failed`)
}

const mints = (input: ReportInput): string =>
  PROVIDERS.map((provider) => {
    const commits = input.check.history.of("log")
      .filter((line) => line.msg === "minted and committed a token" && line.provider === provider)
    const calls = input.check.history.of("upstream").filter((call) => call.provider === provider).length
    return `${provider}: ${commits.length} committed (${countBy(commits.map((line) => line.reason ?? "?"))}), ` +
      `${calls} upstream calls`
  }).join("; ")

const unauthorized = (input: ReportInput): string => {
  const ops = input.check.history.of("op").filter((op) => op.op === "fetch")
  const after = ops.filter((op) => op.status === 401).length
  const reports = input.check.history.of("storm").reduce((sum, storm) => sum + storm.reports, 0)
  const resource = PROVIDERS.map((provider) => `${provider} ${input.counters[provider].resourceUnauthorized}`)
    .join(", ")
  return `resource 401s: ${resource}; fetches still 401 after the client's retry: ${after}; storm reports: ${reports}`
}

const fetchOutcomes = (history: History): string => {
  const ops = history.of("op")
  const fetches = ops.filter((op) => op.op === "fetch")
  const failedGets = ops.filter((op) => op.op === "getToken" && !op.ok).length
  const outcome = (op: (typeof fetches)[number]) =>
    op.error === undefined ? String(op.status) : op.error.split(":")[0]
  return `${ops.length - fetches.length} getToken (${failedGets} failed), ${fetches.length} fetch (` +
    `${countBy(fetches.map((op) => outcome(op) ?? "error"))})`
}

const worstRecovery = (input: ReportInput): string => {
  const worst = recoveries(input.check).flatMap(({ revocation, times }) =>
    times.map(({ consumer, millis }) => ({ revocation, consumer, millis: millis ?? Infinity }))
  ).sort((a, b) => b.millis - a.millis)[0]
  if (worst === undefined) return "no revocation"
  const { provider, version } = worst.revocation
  const at = offset(input.check, worst.revocation.at)
  return `${millisOrNever(worst.millis)} (${provider} v${version} revoked at ${at}, ${worst.consumer})`
}

const worstLeaderGap = (input: ReportInput): string =>
  PROVIDERS.map((provider) => {
    const gap = leaderlessSpans(input.check.history, provider, input.end)[0]
    if (gap === undefined) return `${provider}: none`
    return `${provider}: ${gap.to - gap.from} ms (from ${offset(input.check, gap.from)})`
  }).join("; ")

const breakerTripsFigure = (input: ReportInput): string =>
  breakerTrips(input.check).map(({ inDoubt, line, reason }) =>
    `${line.provider} at ${offset(input.check, line.at)} by ${line.replica}: ${inDoubt ?? reason.slice(0, 160)}`
  ).join("; ") || "none"

const storms = (history: History): string =>
  history.of("storm").map((storm) =>
    `${storm.provider} v${storm.version} × ${storm.reports} → ${JSON.stringify(storm.replies)}` +
    (Object.keys(storm.errors).length === 0 ? "" : ` errors ${JSON.stringify(storm.errors)}`)
  ).join("; ") || "none"

/** The run's report as Markdown lines. */
export const renderReport = (input: ReportInput): string => {
  const { settings, verdicts } = input
  const violations = verdicts.reduce((sum, verdict) => sum + verdict.violations.length, 0)
  const seconds = ((input.end - input.check.start) / 1000).toFixed(0)
  const lines = [
    "",
    `### chaos run: seed ${settings.seed} (${settings.label}), ${seconds} s, ${input.natsDescription}`,
    `replay: scripts/chaos --seed ${settings.seed}` +
    (settings.label === "soak" ? ` --minutes ${settings.faultMillis / 60_000}` : ""),
    "",
    ...table(["invariant", "observed", "bound", "result"], verdicts.map((verdict) => [
      verdict.invariant,
      verdict.observed,
      verdict.bound,
      verdict.violations.length === 0 ? "ok" : `VIOLATED (${verdict.violations.length})`
    ])),
    "",
    ...table(["figure", "value"], [
      ["faults injected", faults(input.check.history)],
      ["mints", mints(input)],
      ["401s", unauthorized(input)],
      ["consumer calls", fetchOutcomes(input.check.history)],
      ["401 storms", storms(input.check.history)],
      ["worst recovery after a revocation", worstRecovery(input)],
      ["worst gap without a leader", worstLeaderGap(input)],
      ["circuit breaker trips", breakerTripsFigure(input)],
      ["violations", String(violations)],
      ["history", input.historyPath]
    ])
  ]
  for (const verdict of verdicts.filter((v) => v.violations.length > 0)) {
    lines.push("", `violations of "${verdict.invariant}":`, ...verdict.violations.slice(0, 20).map((v) => `- ${v}`))
    if (verdict.violations.length > 20) lines.push(`- ... and ${verdict.violations.length - 20} more`)
  }
  return lines.join("\n")
}
