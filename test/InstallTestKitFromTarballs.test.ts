// @tokenbus/testkit installed the way a microservice team installs it: core,
// nats, client, sim, service and testkit packed with `pnpm pack`, the
// tarballs installed with plain `npm install` into a scratch project outside
// the workspace, and there a `node --test` file, plain JavaScript, starts the
// kit (whose replicas must run the installed service's dist/bin.js), gets a
// token with the installed client and recovers from a revocation. After it,
// no container, replica process or temp dir of the kit may be left. It prints
// the testkit tarball's size and files and how long each step took.
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { readFile, realpath, rm, writeFile } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  makeScratch,
  npmInstall,
  pack,
  reporter,
  run,
  type ScratchDirs,
  type Tarball,
  seconds,
  userEnv,
  workspaceVersion
} from "./support/ScratchInstall.ts"

/** In dependency order: what a team installs to test against tokenbus with the kit. */
const packages = ["core", "nats", "client", "sim", "service", "testkit"] as const

const SETUP_TIMEOUT_MS = 240_000

const report = reporter("install-testkit")

const describeTarball = (tarball: Tarball): string => {
  const unpacked = tarball.files.reduce((sum, file) => sum + file.bytes, 0)
  const header = `${basename(tarball.path)}: ${(tarball.bytes / 1000).toFixed(1)} kB packed, ` +
    `${(unpacked / 1000).toFixed(1)} kB unpacked, ${tarball.files.length} files`
  const files = [...tarball.files].sort((a, b) => a.path.localeCompare(b.path))
  return [header, ...files.map((file) => `    ${String(file.bytes).padStart(7)}  ${file.path}`)].join("\n")
}

/**
 * The consumer's test, as a team would write it for `node --test`. It writes
 * what only it can see (the container, the replicas' pids and command lines)
 * to $KIT_REPORT, for the checks after the kit has stopped.
 */
const consumerTest = `
import assert from "node:assert/strict"
import { readFileSync, writeFileSync } from "node:fs"
import { test } from "node:test"
import { TokenbusClient } from "@tokenbus/client"
import { startTokenbus } from "@tokenbus/testkit"

const commandOf = (pid) => readFileSync("/proc/" + pid + "/cmdline", "utf8").split("\\0").filter(Boolean)

test("a token from the kit, and a recovery from a revocation", async () => {
  let seen
  {
    await using kit = await startTokenbus()
    const pids = kit.replicas.map((replica) => replica.pid)
    seen = { container: kit.container.id, prefix: kit.prefix, pids, commands: pids.map(commandOf) }
    const client = await TokenbusClient.connect(kit)
    try {
      assert.equal((await client.fetch(kit.provider, kit.resourceUrl)).status, 200)
      const held = await client.getToken(kit.provider)
      const mints = kit.mintCount()
      kit.revoke()
      assert.equal((await client.fetch(kit.provider, kit.resourceUrl)).status, 200)
      assert.equal(kit.mintCount(), mints + 1)
      assert.ok(client.peek(kit.provider).version > held.version)
    } finally {
      await client.close()
    }
  }
  writeFileSync(process.env.KIT_REPORT, JSON.stringify(seen))
})
`

interface Prepared {
  readonly scratch: ScratchDirs
  readonly tarballs: ReadonlyArray<Tarball>
  readonly installMillis: number
}

interface KitReport {
  readonly container: string
  readonly prefix: string
  readonly pids: ReadonlyArray<number>
  readonly commands: ReadonlyArray<ReadonlyArray<string>>
}

const prepare = async (): Promise<Prepared> => {
  const scratch = await makeScratch()
  const started = performance.now()
  const tarballs: Array<Tarball> = []
  for (const dir of packages) tarballs.push(await pack(dir, scratch.tarballs))
  report(`pnpm pack of ${packages.join(", ")}: ${seconds(performance.now() - started)}`)
  const effect = `effect@${await workspaceVersion("effect")}`
  const installMillis = await npmInstall(scratch.app, [...tarballs.map((tarball) => tarball.path), effect])
  report(`npm install of the six tarballs and effect: ${seconds(installMillis)}`)
  await writeFile(join(scratch.app, "kit.test.mjs"), consumerTest)
  return { scratch, tarballs, installMillis }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("the test kit installed from its tarballs, outside the workspace", () => {
  let prepared: Prepared | undefined
  beforeAll(async () => {
    prepared = await prepare()
  }, SETUP_TIMEOUT_MS)
  afterAll(async () => {
    if (prepared !== undefined) await rm(prepared.scratch.root, { recursive: true, force: true })
  })
  const ready = (): Prepared => {
    if (prepared === undefined) throw new Error("the scratch project was not prepared")
    return prepared
  }

  it("packs the testkit with built files, real version ranges and its CHANGELOG", () => {
    const testkit = ready().tarballs.find((tarball) => tarball.dir === "testkit")
    if (testkit === undefined) throw new Error("no testkit tarball")
    report(describeTarball(testkit))
    const { manifest, files } = testkit
    const paths = new Set(files.map((file) => file.path))
    expect(JSON.stringify(manifest)).not.toContain("workspace:")
    expect(manifest["exports"]).toEqual({
      ".": { types: "./dist/index.d.ts", import: "./dist/index.js" },
      "./package.json": "./package.json"
    })
    expect(manifest["dependencies"]).toEqual({
      "@tokenbus/service": "^0.1.0",
      "@tokenbus/sim": "^0.1.0",
      testcontainers: expect.stringMatching(/^\^12\./)
    })
    expect(manifest["peerDependencies"]).toEqual({ effect: expect.stringMatching(/^\^4\./) })
    for (const path of ["dist/index.js", "dist/index.d.ts", "CHANGELOG.md", "README.md"]) expect(paths).toContain(path)
    expect([...paths].filter((path) => /tsbuildinfo|(^|\/)test\/|\.test\.ts$/.test(path))).toEqual([])
  })

  it("runs a node:test file there that gets a token and recovers from a revocation, leaving nothing", async () => {
    const { scratch } = ready()
    const reportFile = join(scratch.root, "kit-report.json")
    const env = { ...userEnv(), KIT_REPORT: reportFile }
    const result = await run(process.execPath, ["--test", "--test-reporter=spec", "kit.test.mjs"], {
      cwd: scratch.app,
      env,
      timeoutMs: 110_000
    })
    report(`node --test kit.test.mjs: ${seconds(result.millis)}`)
    const progress = result.stdout.split("\n").filter((line) => line.startsWith("[tokenbus-testkit]"))
    report(`what the kit said under node --test:\n${progress.join("\n")}`)
    expect(result.stdout).toMatch(/pass 1\b/)
    expect(result.stdout).toMatch(/fail 0\b/)
    // node --test shows the kit's progress (its stderr) with the test's output.
    expect(progress.join("\n")).toMatch(/tokenbus ready in [\d.]+ s/)
    expect(progress.at(-1)).toMatch(/^\[tokenbus-testkit\] stopped/)

    const seen = JSON.parse(await readFile(reportFile, "utf8")) as KitReport
    const bin = await realpath(join(scratch.app, "node_modules", "@tokenbus", "service", "dist", "bin.js"))
    expect(seen.commands).toHaveLength(2)
    for (const command of seen.commands) expect(command.slice(1, 4)).toEqual([bin, "serve", "--config"])

    const left = await promisify(execFile)("docker", ["ps", "-a", "-q", "--filter", `id=${seen.container}`])
    expect(left.stdout.trim()).toBe("")
    expect(seen.pids.filter(alive)).toEqual([])
    expect(existsSync(dirname(seen.commands[0]?.[4] ?? ""))).toBe(false)
  })
})
