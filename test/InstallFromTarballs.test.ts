// @tokenbus/client installed the way an application installs it: core, nats
// and client packed with `pnpm pack`, the tarballs installed with plain `npm
// install` into a scratch project in the system temp dir (outside the
// workspace, so Node must load the built JavaScript, not the TypeScript
// sources), and from there a plain JavaScript program and a TypeScript Effect
// program, type-checked by tsc against the installed declarations, get the
// token of a running cluster. It prints the tarballs' sizes and files and
// the install-to-first-token time.
import { createHash } from "node:crypto"
import { readdir, readFile, rm } from "node:fs/promises"
import { basename, join, relative } from "node:path"
import { PROVIDER } from "@tokenbus/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  copyConsumerPrograms,
  makeScratch,
  npmInstall,
  pack,
  repoRoot,
  run,
  type ScratchProject,
  type Tarball,
  userEnv,
  workspaceVersion
} from "./support/ScratchInstall.ts"
import { useReplicaCluster } from "./support/ServiceFixture.ts"

/** In dependency order: what an application installs to use the client. */
const packages = ["core", "nats", "client"] as const

interface Prepared {
  readonly tarballs: ReadonlyArray<Tarball>
  readonly scratch: ScratchProject
}

const kB = (bytes: number): string => `${(bytes / 1000).toFixed(1)} kB`

const report = (text: string): void => {
  process.stderr.write(`[install] ${text}\n`)
}

const describeTarball = (tarball: Tarball): string => {
  const unpacked = tarball.files.reduce((sum, file) => sum + file.bytes, 0)
  const header = `${basename(tarball.path)}: ${kB(tarball.bytes)} packed, ` +
    `${kB(unpacked)} unpacked, ${tarball.files.length} files`
  const files = [...tarball.files].sort((a, b) => a.path.localeCompare(b.path))
  return [header, ...files.map((file) => `    ${String(file.bytes).padStart(7)}  ${file.path}`)].join("\n")
}

/** Packs the three packages and installs them, with effect and Node's types, into a new scratch project. */
const prepare = async (): Promise<Prepared> => {
  const { root, app, tarballs: destination } = await makeScratch()
  const tarballs: Array<Tarball> = []
  for (const dir of packages) tarballs.push(await pack(dir, destination))
  await copyConsumerPrograms(app)
  // the versions the workspace was tested with, which npm's cache already holds after the first run
  const versions = await Promise.all(
    ["effect", "@types/node"].map(async (name) => `${name}@${await workspaceVersion(name)}`)
  )
  const installMillis = await npmInstall(app, [...tarballs.map((tarball) => tarball.path), ...versions])
  return { tarballs, scratch: { root, app, installMillis } }
}

/** Every file under `dir`, recursively. */
const filesUnder = async (dir: string): Promise<ReadonlyArray<string>> =>
  (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")

/** What both consumer programs print: the version and a hash of the access token, never the token itself. */
interface ProgramOutput {
  readonly version: number
  readonly sha256: string
  readonly resolved?: ReadonlyArray<string>
  readonly testingExports?: ReadonlyArray<string>
}

const lastJsonLine = (stdout: string): ProgramOutput =>
  JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as ProgramOutput

describe("the client installed from its tarballs, outside the workspace", () => {
  let prepared: Promise<Prepared> | undefined
  // Packing and installing take longer than starting the cluster, and need
  // nothing from it: started first and not awaited here, they overlap.
  beforeAll(() => {
    prepared = prepare()
    prepared.catch(() => undefined)
  })
  const fixture = useReplicaCluster({ replicas: 2 })
  const ready = (): Promise<Prepared> => prepared ?? Promise.reject(new Error("not prepared"))

  afterAll(async () => {
    const done = await prepared?.catch(() => undefined)
    if (done !== undefined) await rm(done.scratch.root, { recursive: true, force: true })
  })

  /** Runs `program` of the scratch project (with Node, from there) against the cluster. */
  const runProgram = async (app: string, program: string) => {
    const { cluster } = fixture
    const args = [join(app, program), cluster.natsUrl, cluster.prefix, PROVIDER]
    const result = await run(process.execPath, args, { cwd: app, env: userEnv(), timeoutMs: 30_000 })
    return { ...result, output: lastJsonLine(result.stdout) }
  }

  it("packs core, nats and client with manifests that name built files and real versions", async () => {
    const { tarballs } = await ready()
    for (const tarball of tarballs) report(describeTarball(tarball))
    for (const { dir, files, manifest } of tarballs) {
      const paths = new Set(files.map((file) => file.path))
      expect(manifest["private"], dir).toBeUndefined()
      expect(JSON.stringify(manifest), dir).not.toContain("workspace:")
      const exports = manifest["exports"] as Record<string, { types: string; import: string } | string>
      const entries = Object.entries(exports).filter(([key]) => key !== "./package.json")
      const expected = dir === "nats" ? [".", "./testing"] : dir === "client" ? [".", "./undici", "./axios"] : ["."]
      expect(entries.map(([key]) => key), dir).toEqual(expected)
      for (const [key, entry] of entries) {
        expect(entry, `${dir} ${key}`).toEqual({
          types: expect.stringMatching(/^\.\/dist\/.*\.d\.ts$/),
          import: expect.stringMatching(/^\.\/dist\/.*\.js$/)
        })
        if (typeof entry === "string") continue
        expect(paths, `${dir} ${key}`).toContain(entry.types.slice(2))
        expect(paths, `${dir} ${key}`).toContain(entry.import.slice(2))
      }
      const effect = { effect: expect.stringMatching(/^\^4\./) }
      const peers = dir === "client" ? { ...effect, undici: expect.any(String), axios: expect.any(String) } : effect
      expect(manifest["peerDependencies"], dir).toEqual(peers)
      expect(Object.keys(manifest["dependencies"] ?? {}), dir).not.toContain("effect")
      expect([...paths].filter((path) => /tsbuildinfo|(^|\/)test\/|\.test\.ts$/.test(path)), dir).toEqual([])
      expect(paths, dir).toContain("CHANGELOG.md")
    }
    const [core, nats, client] = tarballs.map((tarball) => tarball.manifest)
    const range = `^${String(core?.["version"])}`
    expect(client?.["dependencies"]).toEqual({ "@tokenbus/core": range, "@tokenbus/nats": range })
    expect(Object.keys(nats?.["dependencies"] ?? {}).sort()).toEqual([
      "@nats-io/jetstream",
      "@nats-io/kv",
      "@nats-io/services",
      "@nats-io/transport-node"
    ])
  })

  it("installs them with npm outside the workspace: one copy of effect, relative imports ending in .js", async () => {
    const { scratch } = await ready()
    report(`npm install of the three tarballs, effect and @types/node: ${(scratch.installMillis / 1000).toFixed(1)} s`)
    expect(relative(repoRoot, scratch.app).startsWith("..")).toBe(true)
    const effects = await run("npm", ["ls", "effect", "--all", "--parseable"], { cwd: scratch.app, env: userEnv() })
    expect(new Set(effects.stdout.trim().split("\n"))).toEqual(new Set([join(scratch.app, "node_modules", "effect")]))
    const installed = join(scratch.app, "node_modules", "@tokenbus")
    expect((await readdir(installed)).sort()).toEqual(["client", "core", "nats"])
    const scripts = (await filesUnder(installed)).filter((file) => file.endsWith(".js"))
    expect(scripts.length).toBeGreaterThan(30)
    const tsImports: Array<string> = []
    for (const file of scripts) {
      const text = await readFile(file, "utf8")
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]*)"/g)) {
        if (!match[1]?.endsWith(".js")) tsImports.push(`${relative(installed, file)}: ${match[1]}`)
      }
    }
    expect(tsImports).toEqual([])
  })

  it("runs a plain JavaScript program there that gets the cluster's token", async () => {
    const { scratch } = await ready()
    const expected = await fixture.cluster.firstToken()
    const { output, millis } = await runProgram(scratch.app, "get-token.mjs")
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
    report(
      `install to first token: ${seconds(scratch.installMillis + millis)} ` +
        `(npm install ${seconds(scratch.installMillis)}, program start to token ${seconds(millis)})`
    )
    expect(output.version).toBe(expected.version)
    expect(output.sha256).toBe(sha256(expected.accessToken))
    const modules = join(scratch.app, "node_modules", "@tokenbus")
    expect(output.resolved?.map((url) => relative(modules, new URL(url).pathname))).toEqual([
      "client/dist/index.js",
      "core/dist/index.js",
      "nats/dist/index.js",
      "nats/dist/testing/index.js"
    ])
    expect(output.testingExports).toContain("makeMemoryNats")
  })

  it("type-checks a TypeScript Effect program there with tsc, which then gets the cluster's token", async () => {
    const { scratch } = await ready()
    const expected = await fixture.cluster.firstToken()
    const tsc = join(repoRoot, "node_modules", ".bin", "tsc")
    const checked = await run(tsc, ["-p", scratch.app], { cwd: scratch.app, env: userEnv() })
    report(`tsc -p on the scratch project (skipLibCheck off): ${(checked.millis / 1000).toFixed(1)} s`)
    const { output } = await runProgram(scratch.app, "get-token.ts")
    expect(output).toEqual({ version: expected.version, sha256: sha256(expected.accessToken) })
  })
})
