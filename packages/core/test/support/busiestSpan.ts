/**
 * How many of the given call times fall in the busiest span of `span`
 * milliseconds (a half-open interval `[x, x + span)`), the measure the rate
 * budget's tests hold its grants to.
 */
export const busiestSpan = (calls: ReadonlyArray<number>, span: number): number => {
  const sorted = [...calls].sort((a, b) => a - b)
  let most = 0
  let first = 0
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= span) first++
    most = Math.max(most, last - first + 1)
  }
  return most
}

/** The number of call times in `[from, from + span)`. */
export const callsIn = (calls: ReadonlyArray<number>, from: number, span: number): number =>
  calls.filter((call) => call >= from && call < from + span).length
