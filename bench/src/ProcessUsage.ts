/**
 * CPU time and resident memory of a process, read from /proc (Linux), so the
 * bench can say what a replica costs at idle and under load, and which
 * process was the bottleneck in a round (the requesters, NATS, or the
 * responder). CPU is reported as a percentage of one core over an interval.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"

export interface UsageSample {
  readonly pid: number
  /** performance.now() when read. */
  readonly at: number
  /** user + system CPU time in clock ticks. */
  readonly cpuTicks: number
  readonly rssBytes: number
}

const clockTicksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** The fields of /proc/<pid>/stat after the command name, which may itself hold spaces or parentheses. */
const statFields = (pid: number): Array<string> => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
}

export const sampleUsage = (pid: number): UsageSample => {
  const fields = statFields(pid)
  // Fields 14 (utime) and 15 (stime) of proc(5); index 0 here is field 3.
  const cpuTicks = Number(fields[11]) + Number(fields[12])
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN)
  return { pid, at: performance.now(), cpuTicks, rssBytes: rssKb * 1024 }
}

/** CPU used between two samples of one process, as % of one core. */
export const cpuPercent = (from: UsageSample, to: UsageSample): number =>
  ((to.cpuTicks - from.cpuTicks) / clockTicksPerSecond) / ((to.at - from.at) / 1000) * 100

export interface MachineSample {
  readonly at: number
  /** Busy clock ticks over all cores (everything but idle and iowait). */
  readonly busyTicks: number
}

export const sampleMachine = (): MachineSample => {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number)
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0)
  return { at: performance.now(), busyTicks: total - (fields[3] ?? 0) - (fields[4] ?? 0) }
}

/** CPU the whole machine used between two samples, as % of one core (200 % = two cores busy). */
export const machineCpuPercent = (from: MachineSample, to: MachineSample): number =>
  ((to.busyTicks - from.busyTicks) / clockTicksPerSecond) / ((to.at - from.at) / 1000) * 100

/**
 * Memory only this process holds (Private_Clean + Private_Dirty of
 * /proc/<pid>/smaps_rollup): RSS less the pages it shares, above all the
 * node executable's own, which every Node process on the machine maps once.
 */
export const privateBytes = (pid: number): number => {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? Number.NaN)
  return (kb("Private_Clean") + kb("Private_Dirty")) * 1024
}
