import { describe, expect, it } from "vitest"
import { linesOfAll } from "../src/linesOfAll.ts"
import { type LogLine, logMsg } from "../src/LogLine.ts"

const line = (time: number, msg = "minted and committed a token"): LogLine => ({ level: 30, time, msg })
const replica = (name: string, lines: Array<LogLine>) => ({ name, lines: (predicate: (l: LogLine) => boolean) => lines.filter(predicate) })

describe("linesOfAll", () => {
  it("lists the lines of every replica in the order they were logged, not replica after replica", () => {
    // The first replica minted last: its line must come last, though it is listed first.
    const late = replica("a", [line(300)])
    const early = replica("b", [line(100), line(200, "became leader"), line(250)])
    const merged = linesOfAll([late, early], logMsg("minted and committed a token"))
    expect(merged.map(({ replica, line }) => [replica.name, line.time])).toEqual([["b", 100], ["b", 250], ["a", 300]])
  })

  it("keeps each replica's own order for lines of the same millisecond", () => {
    const first = { ...line(100), n: 1 }
    const second = { ...line(100), n: 2 }
    const merged = linesOfAll([replica("a", [first, second])], () => true)
    expect(merged.map(({ line }) => line["n"])).toEqual([1, 2])
  })
})
