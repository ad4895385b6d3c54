// The nats-server configuration docs/permissions.md gives, read from the page
// itself: the test of least privilege runs a server with exactly what a user
// would paste, so the page and the test cannot drift apart. Also what the
// test needs to know about that text: the environment variables it reads
// (the users' passwords) and every subject it names.
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

export const permissionsDocPath = fileURLToPath(new URL("../../docs/permissions.md", import.meta.url))

const marker = "<!-- test/LeastPrivilege.test.ts reads the next block"

export interface PermissionsDoc {
  /** The whole page. */
  readonly text: string
  /** The configuration block after the marker, as a user would paste it. */
  readonly config: string
}

export const readPermissionsDoc = (path: string = permissionsDocPath): PermissionsDoc => {
  const text = readFileSync(path, "utf8")
  const at = text.indexOf(marker)
  if (at < 0) throw new Error(`${path}: no "${marker}" line`)
  const block = /^```[^\n]*\n([\s\S]*?)^```$/m.exec(text.slice(at))
  if (block?.[1] === undefined) throw new Error(`${path}: no code block after the marker`)
  return { text, config: block[1] }
}

/** The names of the environment variables `config` reads, such as `$ORDERS_PASSWORD`. */
export const environmentVariables = (config: string): ReadonlyArray<string> =>
  [...new Set([...config.matchAll(/\$([A-Z][A-Z0-9_]*_PASSWORD)\b/g)].map((match) => match[1] ?? ""))]

/** Every quoted string of `config`: the subjects its permissions name. */
export const quotedSubjects = (config: string): ReadonlyArray<string> =>
  [...new Set([...config.matchAll(/"([^"\s]+)"/g)].map((match) => match[1] ?? ""))]
