// `tokenbus demo` as a newcomer runs it, the README's first command: the
// real command as a child process, with nothing running beforehand (it
// starts its own nats-server, simulated project44 and ItemPath, and replica
// processes). It must play its whole story within 2 minutes and exit 0, its
// summary must show zero failures, ItemPath's consumers served with none
// of their own, the revocation and the 401 storm must each cost exactly one
// mint and the leader's death none, the terminal must get no
// raw JSON log line (they go to the log file it names), and once it has
// exited, no process it started may still be alive.
import { spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const bin = fileURLToPath(new URL("../packages/service/src/bin.ts", import.meta.url))
const BOUND_MILLIS = 120_000

interface Run {
  readonly code: number | null
  readonly output: string
  readonly millis: number
}

/** `tokenbus demo`, interrupted (SIGINT, then SIGKILL) if it runs past the bound so the test never leaves it. */
const runDemo = () =>
  new Promise<Run>((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, [bin, "demo"], { env: process.env })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    const interrupt = setTimeout(() => child.kill("SIGINT"), BOUND_MILLIS)
    const kill = setTimeout(() => child.kill("SIGKILL"), BOUND_MILLIS + 10_000)
    child.once("exit", (code) => {
      clearTimeout(interrupt)
      clearTimeout(kill)
      resolve({ code, output, millis: Date.now() - started })
    })
  })

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("tokenbus demo", () => {
  it("plays its story to a summary with zero failures, within 2 minutes, and leaves no process behind", async () => {
    const run = await runDemo()
    console.log(`tokenbus demo exited ${run.code} after ${run.millis} ms:\n${run.output}`)
    expect(run.code).toBe(0)
    expect(run.millis).toBeLessThan(BOUND_MILLIS)

    expect(run.output).toMatch(/^failures: 0$/m)
    expect(run.output).toMatch(/^result: success$/m)
    expect(run.output).toMatch(/^ {2}failures +0$/m)
    expect(run.output).toMatch(/^ {2}mints \(itempath\) +[1-9]\d* \(budget 5 per 10 s\)$/m)
    const itemPathCalls = /^ {2}calls \(itempath\) +(\d+) served, (\d+) failures$/m.exec(run.output)
    expect(itemPathCalls).not.toBeNull()
    expect(Number(itemPathCalls![1])).toBeGreaterThan(0)
    expect(Number(itemPathCalls![2])).toBe(0)
    expect(run.output).toMatch(/ok: steady state: mints \+0;/)
    expect(run.output).toMatch(/ok: a token revoked upstream: mints \+1; all 20 consumers served again/)
    expect(run.output).toMatch(/ok: the leader killed: mints \+0; replica-\d SIGKILLed, replica-\d took over/)
    expect(run.output).toMatch(/ok: a replica added and one removed: mints \+0;/)
    expect(run.output).toMatch(/ok: a 401 storm: mints \+1; 100 reports at once, answered with 1 new version/)
    expect(run.output).toMatch(/ok: the budget nearly spent: .*the last mint waited for the budget window.*failures \+0/)
    expect(run.output).toMatch(/dashboard http:\/\/127\.0\.0\.1:\d+\//)
    expect(run.output).toMatch(/^ {2}leader +replica-\d leads itempath$/m)

    // The replicas' JSON lines went to the log file, not to the terminal.
    expect(run.output.split("\n").filter((line) => line.trimStart().startsWith("{"))).toEqual([])
    const logPath = /^ {2}logs +(\S+)$/m.exec(run.output)?.[1]
    expect(logPath).toBeDefined()
    expect(existsSync(logPath!)).toBe(true)
    expect(readFileSync(logPath!, "utf8")).toContain("\"msg\":\"became leader\"")

    // nats-server, the three replicas and the one added later.
    const pids = [...run.output.matchAll(/pid (\d+)/g)].map((match) => Number(match[1]))
    expect(new Set(pids).size).toBeGreaterThanOrEqual(5)
    expect(pids.filter(isAlive)).toEqual([])
  }, BOUND_MILLIS + 20_000)
})
