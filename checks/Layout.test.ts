// The layout rules of the workspace's sources, checked on the real tree: no
// import cycle anywhere in packages/*/src, and no source file over 300 lines.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { importCycles, sourceFiles } from "./SourceGraph.ts"

const root = join(import.meta.dirname, "..")
const packageSources = readdirSync(join(root, "packages")).flatMap((name) => {
  const src = join(root, "packages", name, "src")
  try {
    return sourceFiles(src)
  } catch {
    return []
  }
})

const scratch = mkdtempSync(join(tmpdir(), "tokenbus-layout-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe("layout", () => {
  it("finds the packages' sources", () => {
    expect(packageSources.length).toBeGreaterThan(50)
  })

  it("has no import cycle in packages/*/src", () => {
    expect(importCycles(root, packageSources)).toEqual([])
  })

  it("keeps every source file under 300 lines", () => {
    const long = packageSources
      .map((file) => [relative(root, file), readFileSync(file, "utf8").split("\n").length] as const)
      .filter(([, lines]) => lines > 300)
    expect(long).toEqual([])
  })

  it("the cycle check sees a loop of type imports across three files", () => {
    writeFileSync(join(scratch, "A.ts"), `import type { B } from "./B.ts"\nexport type A = B\n`)
    writeFileSync(join(scratch, "B.ts"), `import { c } from "./C.ts"\nexport type B = typeof c\n`)
    writeFileSync(join(scratch, "C.ts"), `export { a } from "./D.ts"\nexport const c = 1\n`)
    writeFileSync(join(scratch, "D.ts"), `export const a = await import("./A.ts")\n`)
    const cycles = importCycles(scratch, sourceFiles(scratch))
    expect(cycles).toEqual([["A.ts", "B.ts", "C.ts", "D.ts", "A.ts"]])
  })
})
