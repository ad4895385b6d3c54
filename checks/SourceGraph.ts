/**
 * The import graph of the workspace's sources, for the layout checks: every
 * `import`/`export ... from` (type-only ones included, since a loop of types
 * is still a loop a reader must untangle) and `import()` between files,
 * with `@tokenbus/<name>` resolved to that package's entry points.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const specifiers = /(?:^|\n)\s*(?:import|export)\s[^"'`]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g

/** Every `.ts` file under `dir`, recursively. */
export const sourceFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : sourceFiles(path)
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : []
  })

/** `@tokenbus/nats/testing` → packages/nats/src/testing/index.ts, from the package's `exports`. */
const packageEntry = (root: string, specifier: string): string | undefined => {
  const [, name, ...rest] = specifier.split("/")
  const manifest = join(root, "packages", name ?? "", "package.json")
  if (!existsSync(manifest)) return undefined
  const exports = JSON.parse(readFileSync(manifest, "utf8")).exports as Record<string, unknown> | undefined
  const target = exports?.[rest.length === 0 ? "." : `./${rest.join("/")}`]
  const path = typeof target === "string" ? target : (target as { source?: string } | undefined)?.source
  return path === undefined ? undefined : resolve(dirname(manifest), path)
}

/** The files `file` imports, among the workspace's own. */
export const importsOf = (root: string, file: string): ReadonlyArray<string> => {
  const text = readFileSync(file, "utf8")
  const found: Array<string> = []
  for (const match of text.matchAll(specifiers)) {
    const specifier = match[1] ?? match[2] ?? ""
    const target = specifier.startsWith(".")
      ? resolve(dirname(file), specifier)
      : specifier.startsWith("@tokenbus/")
      ? packageEntry(root, specifier)
      : undefined
    if (target !== undefined && existsSync(target)) found.push(target)
  }
  return found
}

/** The import cycles among `files`, each as a path of files relative to `root`, first file repeated last. */
export const importCycles = (root: string, files: ReadonlyArray<string>): ReadonlyArray<ReadonlyArray<string>> => {
  const graph = new Map(files.map((file) => [file, importsOf(root, file)]))
  const state = new Map<string, "open" | "done">()
  const cycles: Array<ReadonlyArray<string>> = []
  const visit = (file: string, path: ReadonlyArray<string>): void => {
    state.set(file, "open")
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") {
        cycles.push([...path.slice(path.indexOf(next)), file, next].map((p) => relative(root, p)))
      } else if (!state.has(next)) {
        visit(next, [...path, file])
      }
    }
    state.set(file, "done")
  }
  for (const file of files) if (!state.has(file)) visit(file, [])
  return cycles
}
