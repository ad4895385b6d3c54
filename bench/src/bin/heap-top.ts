/**
 * Reads a V8 heap snapshot (`pnpm bench --only 7 --profile` writes one of the
 * replica leading the most providers) and prints what the live heap is made
 * of: the node types and constructors with the most self size, with their
 * counts. Divided by the providers a replica holds, it says what each
 * provider costs and which objects to remove to lower it.
 *
 * usage: node bench/src/bin/heap-top.ts <file.heapsnapshot> [--top N] [--per N] [--base <file.heapsnapshot>]
 * (`--per N` adds a column of bytes per N-th, e.g. the providers the replica led; `--base` lists what
 * grew since another snapshot, e.g. the 1-provider row's, instead of what is there)
 */
import { readFileSync } from "node:fs"

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: ReadonlyArray<string>
      readonly node_types: ReadonlyArray<ReadonlyArray<string> | string>
    }
  }
  readonly nodes: ReadonlyArray<number>
  readonly strings: ReadonlyArray<string>
}

interface Group {
  count: number
  bytes: number
}

const args = process.argv.slice(2)
const file = args[0]
if (file === undefined) {
  console.error("usage: heap-top.ts <file.heapsnapshot> [--top N] [--per N]")
  process.exit(2)
}
const flag = (name: string): number | undefined => {
  const at = args.indexOf(name)
  return at === -1 ? undefined : Number(args[at + 1])
}
const top = flag("--top") ?? 30
const per = flag("--per")

const baseIndex = args.indexOf("--base")
const baseFile = baseIndex === -1 ? undefined : args[baseIndex + 1]

/** Objects by constructor; the rest (strings, code, closures...) by node type, as DevTools groups them. */
const groupsOf = (path: string): Map<string, Group> => {
  const heap = JSON.parse(readFileSync(path, "utf8")) as Snapshot
  const fields = heap.snapshot.meta.node_fields
  const types = heap.snapshot.meta.node_types[0] as ReadonlyArray<string>
  const at = { type: fields.indexOf("type"), name: fields.indexOf("name"), size: fields.indexOf("self_size") }
  const groups = new Map<string, Group>()
  for (let offset = 0; offset < heap.nodes.length; offset += fields.length) {
    const type = types[heap.nodes[offset + at.type]!] ?? "?"
    const name = heap.strings[heap.nodes[offset + at.name]!] ?? "?"
    const key = type === "object" ? name : type === "closure" ? `(closure) ${name || "anonymous"}` : `(${type})`
    const group = groups.get(key) ?? { count: 0, bytes: 0 }
    group.count++
    group.bytes += heap.nodes[offset + at.size]!
    groups.set(key, group)
  }
  return groups
}

/** `groups` less `base`, group by group. */
const grownSince = (groups: Map<string, Group>, base: Map<string, Group>): Map<string, Group> =>
  new Map([...groups].map(([key, { bytes, count }]) => {
    const before = base.get(key) ?? { count: 0, bytes: 0 }
    return [key, { count: count - before.count, bytes: bytes - before.bytes }]
  }))

const groups = baseFile === undefined ? groupsOf(file) : grownSince(groupsOf(file), groupsOf(baseFile))
const total = [...groups.values()].reduce((sum, group) => sum + group.bytes, 0)
const MiB = 2 ** 20
const rows = [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)
const what = baseFile === undefined ? "of live objects" : `more live objects than ${baseFile}`
console.log(`${file}: ${(total / MiB).toFixed(1)} MiB ${what}${per === undefined ? "" : `, ${(total / per).toFixed(0)} B per ${per}-th`}`)
console.log(["self MiB", "count", ...(per === undefined ? [] : ["B per"]), "what"].join("\t"))
for (const [key, { bytes, count }] of rows) {
  const perColumn = per === undefined ? [] : [(bytes / per).toFixed(0)]
  console.log([(bytes / MiB).toFixed(2), String(count), ...perColumn, key.slice(0, 100)].join("\t"))
}
