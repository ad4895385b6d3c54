// @tokenbus/service installed the way an operator installs it: its tarball
// and those of core, nats and client (`pnpm pack`) installed with plain `npm
// install` into a scratch project outside the workspace, so its `tokenbus`
// command must run the built dist/bin.js. `tokenbus dev` loads
// @tokenbus/devstack only when it runs, and the service does not depend on
// it: installed alone, the command says what to install; with devstack and
// sim installed beside it, it runs the whole stack, which answers `get`.
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { realpath, rm } from "node:fs/promises"
import { join, relative } from "node:path"
import { freePorts, waitUntil } from "@tokenbus/testing"
import { describe, expect, it, onTestFinished } from "vitest"
import { makeScratch, npmInstall, pack, run, userEnv, workspaceVersion } from "./support/ScratchInstall.ts"

const report = (text: string): void => {
  process.stderr.write(`[install] ${text}\n`)
}

/**
 * Starts `tokenbus dev`, whose stderr says when the stack is running.
 * `running()` waits for that line, and fails with the output if the command
 * exits first.
 */
const startDev = (bin: string, cwd: string, natsPort: number, upstreamPort: number) => {
  const args = ["dev", "--nats-port", String(natsPort), "--upstream-port", String(upstreamPort), "--replicas", "1"]
  const child: ChildProcess = spawn(bin, args, { cwd, env: userEnv(), stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr?.setEncoding("utf8")
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk
  })
  let exit: number | null | undefined
  const exited = new Promise<void>((resolve) =>
    child.once("close", (code) => {
      exit = code
      resolve()
    })
  )
  const running = async () => {
    const said = () => exit !== undefined || stderr.includes("tokenbus dev is running")
    await waitUntil(said, 30_000, "tokenbus dev did not start").catch((error: Error) => {
      throw new Error(`${error.message}:\n${stderr}`)
    })
    if (exit !== undefined) throw new Error(`tokenbus dev exited (${exit}):\n${stderr}`)
  }
  const stop = async () => {
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    await exited
    clearTimeout(timer)
  }
  return { running, stop }
}

/** What a command that fails prints, or "" if it succeeds. */
const failureOf = (command: Promise<unknown>): Promise<string> =>
  command.then(() => "", (error: Error) => error.message)

describe("the service installed from its tarballs, outside the workspace", () => {
  it("runs tokenbus dev from dist once @tokenbus/devstack is installed beside it, and says so before", async () => {
    const { root, app, tarballs } = await makeScratch()
    onTestFinished(() => rm(root, { recursive: true, force: true }))
    const service = []
    for (const dir of ["core", "nats", "client", "service"]) service.push((await pack(dir, tarballs)).path)
    const effect = `effect@${await workspaceVersion("effect")}`
    const installMillis = await npmInstall(app, [...service, effect])
    report(`npm install of core, nats, client, service and effect: ${(installMillis / 1000).toFixed(1)} s`)

    const bin = join(app, "node_modules", ".bin", "tokenbus")
    expect(relative(app, await realpath(bin))).toBe(join("node_modules", "@tokenbus", "service", "dist", "bin.js"))
    expect(existsSync(join(app, "node_modules", "@tokenbus", "devstack"))).toBe(false)
    const missing = await failureOf(run(bin, ["dev"], { cwd: app, env: userEnv() }))
    expect(missing).toContain("tokenbus dev needs the @tokenbus/devstack package")

    const devTools = [(await pack("devstack", tarballs)).path, (await pack("sim", tarballs)).path]
    await npmInstall(app, devTools)
    const [natsPort = 0, upstreamPort = 0] = await freePorts(2)
    const dev = startDev(bin, app, natsPort, upstreamPort)
    onTestFinished(dev.stop)
    await dev.running()
    const get = await run(bin, ["get", "project44", "--servers", `nats://127.0.0.1:${natsPort}`], {
      cwd: app,
      env: userEnv()
    })
    expect(JSON.parse(get.stdout)).toMatchObject({
      provider: "project44",
      reason: "initial",
      accessToken: "<redacted: pass --reveal>"
    })
  })
})
