import { describe, expect, it } from "vitest"
import { median, percentile, percentileOfSorted, summarize } from "../src/Stats.ts"

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1)

describe("percentile (nearest rank)", () => {
  it("returns a sample that really happened", () => {
    expect(percentile(oneToHundred, 50)).toBe(50)
    expect(percentile(oneToHundred, 99)).toBe(99)
    expect(percentile(oneToHundred, 100)).toBe(100)
    expect(percentile(oneToHundred, 0)).toBe(1)
  })

  it("rounds the rank up, so p99 of fewer than 100 samples is the maximum", () => {
    expect(percentile([5, 1, 4, 2, 3], 99)).toBe(5)
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3)
    expect(percentile([5, 1, 4, 2, 3], 20)).toBe(1)
    expect(percentile([5, 1, 4, 2, 3], 21)).toBe(2)
  })

  it("p99 of 1,000 samples ignores only the 10 slowest", () => {
    const samples = [...Array.from({ length: 990 }, () => 1), ...Array.from({ length: 10 }, () => 500)]
    expect(percentile(samples, 99)).toBe(1)
    expect(percentile([...samples, 500], 99)).toBe(500)
  })

  it("does not reorder its input and sorts numerically", () => {
    const values = [10, 9, 100, 2]
    expect(percentile(values, 75)).toBe(10)
    expect(values).toEqual([10, 9, 100, 2])
  })

  it("is NaN for no samples", () => {
    expect(percentile([], 50)).toBeNaN()
    expect(percentileOfSorted(new Float64Array(0), 99)).toBeNaN()
  })
})

describe("median", () => {
  it("takes the middle of an odd count and the mean of the two middles of an even count", () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([7])).toBe(7)
    expect(median([])).toBeNaN()
  })
})

describe("summarize", () => {
  it("reports count, extremes, mean and percentiles", () => {
    const summary = summarize(oneToHundred)
    expect(summary).toEqual({ count: 100, min: 1, median: 50.5, p90: 90, p99: 99, max: 100, mean: 50.5 })
  })
})
