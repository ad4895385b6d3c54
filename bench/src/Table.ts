/**
 * The results as a Markdown table: readable in a terminal, and pasted as is
 * into the README's Performance section.
 */
import { formatMet, formatNumber, formatRatio, type Row } from "./Row.ts"

const header = ["scenario", "metric", "median", "p99", "baseline", "ratio", "target", "met?"]

const cells = (row: Row): Array<string> => [
  row.scenario,
  row.metric,
  formatNumber(row.median),
  formatNumber(row.p99),
  row.baseline === undefined ? "—" : `${formatNumber(row.baseline)}${row.baselineLabel ? ` (${row.baselineLabel})` : ""}`,
  formatRatio(row.ratio),
  row.target ?? "—",
  formatMet(row.met)
]

export const formatTable = (rows: ReadonlyArray<Row>): string => {
  const lines = [header, ...rows.map(cells)]
  const widths = header.map((_, column) => Math.max(...lines.map((line) => (line[column] ?? "").length)))
  const render = (line: ReadonlyArray<string>) =>
    `| ${line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`
  const rule = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`
  return [render(header), rule, ...lines.slice(1).map(render)].join("\n")
}

/** The notes of rows that have one, numbered, to print under the table. */
export const formatNotes = (rows: ReadonlyArray<Row>): string =>
  rows
    .filter((row) => row.note !== undefined)
    .map((row) => `- ${row.scenario} / ${row.metric}: ${row.note}`)
    .join("\n")
