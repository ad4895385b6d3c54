// examples/shipments-service run the way its team would run it: core, nats,
// client, sim, service and testkit packed with `pnpm pack`, the example
// copied to a scratch dir outside the workspace, the tarballs installed there
// with plain `npm install`, and its own `node --test` run in it. The example's
// test starts the kit, the service as a process, and checks GET /shipments
// before and after a revocation; this test asserts that it passed.
import { readFile, rm } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  copyExample,
  makeScratch,
  npmInstall,
  pack,
  reporter,
  run,
  type ScratchDirs,
  seconds,
  userEnv,
  workspaceVersion
} from "./support/ScratchInstall.ts"

/** In dependency order: what the example installs (testkit brings service and sim). */
const packages = ["core", "nats", "client", "sim", "service", "testkit"] as const

const SETUP_TIMEOUT_MS = 240_000

const report = reporter("example-service")

interface Prepared {
  readonly scratch: ScratchDirs
  readonly service: string
}

const prepare = async (): Promise<Prepared> => {
  const scratch = await makeScratch()
  const started = performance.now()
  const tarballs: Array<string> = []
  for (const dir of packages) tarballs.push((await pack(dir, scratch.tarballs)).path)
  report(`pnpm pack of ${packages.join(", ")}: ${seconds(performance.now() - started)}`)
  const service = await copyExample("shipments-service", scratch.root)
  const effect = `effect@${await workspaceVersion("effect")}`
  report(`npm install in the copied example: ${seconds(await npmInstall(service, [...tarballs, effect]))}`)
  return { scratch, service }
}

describe("examples/shipments-service installed from the tarballs, outside the workspace", () => {
  let prepared: Prepared | undefined
  beforeAll(async () => {
    prepared = await prepare()
  }, SETUP_TIMEOUT_MS)
  afterAll(async () => {
    if (prepared !== undefined) await rm(prepared.scratch.root, { recursive: true, force: true })
  })

  it("passes its own node --test: GET /shipments, a revocation, GET /shipments after one retry", async () => {
    if (prepared === undefined) throw new Error("the scratch project was not prepared")
    const { service } = prepared
    // The installed client is the packed one, not the workspace's sources.
    const client = JSON.parse(await readFile(join(service, "node_modules/@tokenbus/client/package.json"), "utf8"))
    expect(client.exports["."]).toEqual({ types: "./dist/index.d.ts", import: "./dist/index.js" })

    const result = await run(process.execPath, ["--test", "--test-reporter=spec"], {
      cwd: service,
      env: userEnv(),
      timeoutMs: 110_000
    })
    report(`node --test in the example: ${seconds(result.millis)}`)
    expect(result.stdout).toContain("GET /shipments answers with project44's shipments")
    expect(result.stdout).toMatch(/pass 1\b/)
    expect(result.stdout).toMatch(/fail 0\b/)
  })
})
