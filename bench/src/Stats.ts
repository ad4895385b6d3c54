/**
 * The statistics every scenario reports. Percentiles use the nearest-rank
 * rule (the smallest sample such that at least p % of the samples are at or
 * below it), so a reported p99 is always a latency that really happened.
 * Rounds are combined with the median, which one disturbed round (a GC pause,
 * another process waking up) does not move.
 */

export interface Summary {
  readonly count: number
  readonly min: number
  readonly median: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

/** Nearest-rank percentile of `sorted` (ascending), `p` in 0..100. NaN when empty. */
export const percentileOfSorted = (sorted: ArrayLike<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  if (p <= 0) return sorted[0] as number
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(rank, sorted.length) - 1] as number
}

const sortedCopy = (values: ArrayLike<number>): Float64Array => Float64Array.from(values).sort()

/** Nearest-rank percentile of `values` in any order. */
export const percentile = (values: ArrayLike<number>, p: number): number => percentileOfSorted(sortedCopy(values), p)

/** The middle value; the mean of the two middle values for an even count. NaN when empty. */
export const median = (values: ArrayLike<number>): number => {
  const sorted = sortedCopy(values)
  const n = sorted.length
  if (n === 0) return Number.NaN
  const upper = sorted[n >> 1] as number
  return n % 2 === 1 ? upper : ((sorted[(n >> 1) - 1] as number) + upper) / 2
}

export const summarize = (values: ArrayLike<number>): Summary => {
  const sorted = sortedCopy(values)
  let sum = 0
  for (const value of sorted) sum += value
  return {
    count: sorted.length,
    min: sorted.length === 0 ? Number.NaN : (sorted[0] as number),
    median: median(sorted),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length
  }
}
