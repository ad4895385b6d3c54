// The command line of `pnpm bench` as scenario 7 reads it: its provider
// counts (the full run's four, --quick's two, or --providers), its idle
// window, and scenario 7 accepted by --only.
import { describe, expect, it } from "vitest"
import { parseBenchOptions } from "../src/BenchOptions.ts"

describe("parseBenchOptions", () => {
  it("runs the provider scale at 1, 100, 1,000 and 10,000 providers, 20 s idle, with every scenario", () => {
    const options = parseBenchOptions([])
    expect(options.scaleCounts).toEqual([1, 100, 1000, 10_000])
    expect(options.scaleIdleMillis).toBe(20_000)
    expect([...options.only].sort()).toEqual([1, 2, 3, 4, 5, 6, 7])
  })

  it("runs it at 1 and 100 providers only with --quick", () => {
    expect(parseBenchOptions(["--quick"]).scaleCounts).toEqual([1, 100])
  })

  it("takes the counts and the idle window from the command line", () => {
    const options = parseBenchOptions(["--only", "7", "--providers", "1,100,1000", "--scale-idle-ms", "5000"])
    expect([...options.only]).toEqual([7])
    expect(options.scaleCounts).toEqual([1, 100, 1000])
    expect(options.scaleIdleMillis).toBe(5000)
    expect(options.scaleLogs).toBe(false)
    expect(parseBenchOptions(["--scale-logs"]).scaleLogs).toBe(true)
  })

  it("refuses counts that are not positive integers, and scenario numbers past 7", () => {
    expect(() => parseBenchOptions(["--providers", "1,0"])).toThrow(/--providers/)
    expect(() => parseBenchOptions(["--providers", "1,x"])).toThrow(/--providers/)
    expect(() => parseBenchOptions(["--only", "8"])).toThrow(/1-7/)
  })
})
