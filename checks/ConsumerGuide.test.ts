// docs/consumers.md and the snippet files the type check covers must not
// drift apart: every file of examples/consumer-snippets appears in the guide
// verbatim as a code block of its own, so a snippet changed in one place and
// not the other fails here.
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const snippetsDir = join(root, "examples", "consumer-snippets")
const guide = readFileSync(join(root, "docs", "consumers.md"), "utf8")
const snippets = readdirSync(snippetsDir).filter((name) => name.endsWith(".ts")).sort()

/** The guide's ```ts blocks, each as the file it should be (its lines and a final newline). */
const codeBlocks = [...guide.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? "")

describe("docs/consumers.md", () => {
  it("has snippets to check", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(8)
  })

  it.each(snippets)("holds examples/consumer-snippets/%s verbatim, as one code block", (name) => {
    const content = readFileSync(join(snippetsDir, name), "utf8")
    expect(guide).toContain(content)
    expect(codeBlocks).toContain(content)
  })

  it("has no TypeScript block that is not a snippet file", () => {
    const files = new Set(snippets.map((name) => readFileSync(join(snippetsDir, name), "utf8")))
    expect(codeBlocks.filter((block) => !files.has(block))).toEqual([])
  })
})
