/**
 * One line of the results table: a metric's median and p99, the baseline it
 * is compared with (measured in the same run wherever there is one), their
 * ratio, the target from the issue and whether it was met. Scenarios build
 * rows; the table and the JSON file print them.
 */

export interface Row {
  readonly scenario: string
  readonly metric: string
  readonly median: number
  readonly p99?: number
  /** The same metric for the baseline, or the bound it is compared with. */
  readonly baseline?: number
  readonly baselineLabel?: string
  /** This row's figure divided by the baseline's (what `target` constrains). */
  readonly ratio?: number
  readonly target?: string
  readonly met?: boolean
  readonly note?: string
}

export const row = (fields: Row): Row => fields

/** Formats a figure with as many digits as its size deserves. */
export const formatNumber = (value: number | undefined): string => {
  if (value === undefined) return "—"
  if (!Number.isFinite(value)) return String(value)
  const size = Math.abs(value)
  if (size >= 1000) return Math.round(value).toLocaleString("en-US")
  if (size >= 100) return value.toFixed(0)
  if (size >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

export const formatRatio = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? "—" : `${value.toFixed(2)}×`

export const formatMet = (met: boolean | undefined): string => (met === undefined ? "—" : met ? "yes" : "**no**")
