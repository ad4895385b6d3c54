/**
 * Reads a V8 CPU profile (`node --cpu-prof`, or `pnpm bench --profile` for
 * the replicas) and prints where the time went: the functions with the most
 * self time, the most inclusive time, and the time per package. Optionally
 * only the samples between two CLOCK_MONOTONIC instants in microseconds (the
 * scenarios' JSON gives their windows in that clock), so one scenario's
 * profile can be read out of a replica that lived through all of them.
 *
 * usage: node bench/src/bin/profile-top.ts <file.cpuprofile> [--top N] [--from µs --to µs] [--match text]
 * (`--match packages/` lists only tokenbus's own functions in the inclusive table)
 */
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const file = args[0]
if (file === undefined) {
  console.error("usage: profile-top.ts <file.cpuprofile> [--top N] [--from µs --to µs]")
  process.exit(2)
}
const flag = (name: string): number | undefined => {
  const index = args.indexOf(name)
  return index < 0 ? undefined : Number(args[index + 1])
}
const top = flag("--top") ?? 25
const from = flag("--from") ?? Number.NEGATIVE_INFINITY
const to = flag("--to") ?? Number.POSITIVE_INFINITY
const match = args.includes("--match") ? args[args.indexOf("--match") + 1] ?? "" : ""

const profile = JSON.parse(readFileSync(file, "utf8")) as Profile

/** Where a function lives, short: the package and the file. */
const place = (url: string): string => {
  if (url === "") return ""
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url)
  if (pnpm !== null) return `${pnpm[1]}/${pnpm[2]}`
  const workspace = /\/(packages\/[^/]+\/src\/.*|bench\/src\/.*)$/.exec(url)
  if (workspace !== null) return workspace[1] as string
  return url.replace(/^file:\/\//, "")
}

const packageOf = (url: string): string => {
  if (url === "") return "(V8 / native)"
  if (url.startsWith("node:")) return "node core"
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (pnpm !== null) return pnpm[1] as string
  const workspace = /\/packages\/([^/]+)\/src\//.exec(url)
  return workspace !== null ? `@tokenbus/${workspace[1]}` : place(url)
}

const keyOf = (frame: CallFrame): string =>
  `${frame.functionName || "(anonymous)"}  ${place(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ""}`

const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parentOf = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)

// Sample i lasted until the next one; the time deltas are in microseconds.
const selfMicros = new Map<number, number>()
let at = profile.startTime
let total = 0
let idle = 0
for (let index = 0; index < profile.samples.length; index++) {
  at += profile.timeDeltas[index] ?? 0
  const duration = profile.timeDeltas[index + 1] ?? 0
  if (at < from || at > to) continue
  const id = profile.samples[index] as number
  const name = byId.get(id)?.callFrame.functionName
  if (name === "(idle)") {
    idle += duration
    continue
  }
  total += duration
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + duration)
}

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
const packages = new Map<string, number>()
for (const [id, micros] of selfMicros) {
  const frame = byId.get(id)?.callFrame
  if (frame === undefined) continue
  self.set(keyOf(frame), (self.get(keyOf(frame)) ?? 0) + micros)
  packages.set(packageOf(frame.url), (packages.get(packageOf(frame.url)) ?? 0) + micros)
  // Each function on the stack once, however deep it recurses.
  const seen = new Set<string>()
  for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
    const key = keyOf((byId.get(node) as ProfileNode).callFrame)
    if (seen.has(key)) continue
    seen.add(key)
    inclusive.set(key, (inclusive.get(key) ?? 0) + micros)
  }
}

const print = (title: string, table: Map<string, number>, count: number, filter = "") => {
  console.log(`\n${title}`)
  const rows = [...table].filter(([key]) => key.includes(filter)).sort((a, b) => b[1] - a[1])
  for (const [key, micros] of rows.slice(0, count)) {
    console.log(`${(micros / 1000).toFixed(1).padStart(9)} ms ${((micros / total) * 100).toFixed(1).padStart(5)} %  ${key}`)
  }
}

console.log(`${file}: ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle in the window`)
print("self time by package", packages, 15)
print(`self time, top ${top}`, self, top)
print(`inclusive time, top ${top}${match ? ` matching "${match}"` : ""}`, inclusive, top, match)
