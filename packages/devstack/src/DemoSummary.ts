/**
 * What `tokenbus demo` found, as data and as the table it ends with: each
 * step of the story and whether it held, the mints per provider against
 * the budget, the 401s, how fast consumers recovered, the calls served and
 * the failures, which must be zero for the demo to succeed. The providers
 * the story does not disturb (ItemPath) get their mints and calls apiece.
 */

export interface DemoStep {
  readonly title: string
  readonly ok: boolean
  readonly detail: string
}

export interface DemoRecovery {
  readonly what: string
  /** Milliseconds until every consumer was served again: the slowest consumer, and the median one. */
  readonly maxMillis: number
  readonly medianMillis: number
}

/** A provider beside the story's: served all along, its failures counted in the summary's total. */
export interface DemoBystander {
  readonly provider: string
  readonly mints: number
  readonly budget: string
  readonly served: number
  readonly failures: number
}

export interface DemoSummary {
  readonly seconds: number
  readonly steps: ReadonlyArray<DemoStep>
  readonly provider: string
  readonly mints: number
  /** The budget as the demo configures it, e.g. "5 per 10 s". */
  readonly budget: string
  /** 401s the simulated upstream answered: each one a call with a revoked token. */
  readonly upstream401s: number
  /** 401s that reached a consumer's code (after the client's own report and retry). */
  readonly consumer401s: number
  readonly recoveries: ReadonlyArray<DemoRecovery>
  readonly takeoverMillis: number | undefined
  readonly bystanders: ReadonlyArray<DemoBystander>
  /** Calls served and failed, every provider's. */
  readonly served: number
  readonly failures: number
}

export const demoSucceeded = (summary: DemoSummary): boolean =>
  summary.failures === 0 && summary.steps.every((step) => step.ok)

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)]!
}

const ms = (millis: number) => `${Math.round(millis)} ms`

const table = (rows: ReadonlyArray<readonly [string, string]>): Array<string> => {
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)
}

/** The summary as the demo prints it; `failures: <n>` and `result:` lines are what scripts may read. */
export const formatSummary = (summary: DemoSummary): string => {
  const rows: Array<readonly [string, string]> = [
    [`mints (${summary.provider})`, `${summary.mints} (budget ${summary.budget})`],
    ...summary.bystanders.flatMap((b): Array<readonly [string, string]> => [
      [`mints (${b.provider})`, `${b.mints} (budget ${b.budget})`],
      [`calls (${b.provider})`, `${b.served} served, ${b.failures} failures`]
    ]),
    ["401s upstream", String(summary.upstream401s)],
    ["401s to consumers", String(summary.consumer401s)],
    ...summary.recoveries.map((r): readonly [string, string] => [
      `recovery: ${r.what}`,
      `${ms(r.maxMillis)} (median ${ms(r.medianMillis)})`
    ]),
    ["leader takeover", summary.takeoverMillis === undefined ? "-" : ms(summary.takeoverMillis)],
    ["requests served", String(summary.served)],
    ["failures", String(summary.failures)]
  ]
  return [
    "",
    `Summary (${summary.seconds.toFixed(1)} s)`,
    ...summary.steps.map((step) => `  ${step.ok ? "ok  " : "FAIL"} ${step.title}`),
    "",
    ...table(rows),
    "",
    `failures: ${summary.failures}`,
    `result: ${demoSucceeded(summary) ? "success" : "failure"}`
  ].join("\n")
}
