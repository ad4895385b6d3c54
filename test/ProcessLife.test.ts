// A replica process's life at its edges, with real processes and real
// signals: SIGTERM stops it promptly (exit 0) whatever it is doing (waiting
// for a NATS nobody runs, campaigning, minting against an upstream that
// hangs, shutting down after NATS went away), and an invalid option stops
// start-up with one line naming it (exit 1), before anything connects.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import {
  freePorts,
  type LocalNatsServer,
  logMsg,
  randomPrefix,
  replicaConfig,
  type ReplicaProcess,
  SECRET_ENV,
  spawnReplica,
  startNatsServer,
  startReplica,
  startUpstream,
  type Upstream,
  waitUntil
} from "@tokenbus/testing"
import { afterEach, describe, expect, inject, it } from "vitest"
import { testLease } from "./support/ServiceFixture.ts"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

useReplicaCleanup()

const binPath = fileURLToPath(new URL("../packages/service/src/bin.ts", import.meta.url))

/** Well within a Kubernetes grace period, and far below the forever a replica stuck in a wait would take. */
const PROMPTLY_MS = 3_000
/** For a replica whose NATS is gone, whose last waits are bounded by their own timeouts. */
const STRANDED_MS = 6_000

const upstreams: Array<Upstream> = []
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((upstream) => upstream.sim.close()))
})

const upstream = async (): Promise<Upstream> => {
  const started = await startUpstream()
  upstreams.push(started)
  return started
}

const configFor = (natsUrl: string, started: Upstream, provider: Readonly<Record<string, unknown>> = {}) =>
  replicaConfig({ natsUrl, prefix: randomPrefix(), upstream: started, lease: testLease, provider })

const secretEnv = (started: Upstream) => ({ [SECRET_ENV]: started.clientSecret })

/** Sends SIGTERM and resolves with the exit and how long it took, failing if it takes longer than `withinMs`. */
const terminate = async (replica: ReplicaProcess, withinMs = PROMPTLY_MS) => {
  const sentAt = replica.kill("SIGTERM")
  const timer = setTimeout(() => replica.kill("SIGKILL"), withinMs * 3)
  const exit = await replica.exited
  clearTimeout(timer)
  const tookMs = Date.now() - sentAt
  expect(exit, replica.dump()).toEqual({ code: 0, signal: null })
  expect(tookMs, replica.dump()).toBeLessThan(withinMs)
  return tookMs
}

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `tokenbus <args>` to its end, with `env` added to the test's environment. */
const runTokenbus = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) =>
  new Promise<Run>((resolve) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      env: { ...process.env, TOKENBUS_LOG_LEVEL: "Info", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

/** The one line a start-up failure prints, on stderr, with nothing on stdout. */
const oneLine = (run: Run): string => {
  expect(run.code, run.stderr).toBe(1)
  expect(run.stdout).toBe("")
  const lines = run.stderr.trimEnd().split("\n")
  expect(lines, run.stderr).toHaveLength(1)
  return lines[0]!
}

describe("SIGTERM stops a replica promptly", () => {
  it("while it waits for a NATS server that nobody runs", async () => {
    const [port] = await freePorts(1)
    const started = await upstream()
    const replica = await spawnReplica(configFor(`nats://127.0.0.1:${port}`, started), { env: secretEnv(started) })
    await replica.waitForLog(logMsg("connecting to NATS"), 20_000)
    // Long enough for several connection attempts to have failed.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(replica.running).toBe(true)
    await terminate(replica)
    expect(replica.hasLog(logMsg("replica ready"))).toBe(false)
  })

  it("while it leads or campaigns for the lock", async () => {
    const started = await upstream()
    const config = configFor(inject("natsUrl"), started)
    const first = await startReplica(config, { name: "first", env: secretEnv(started) })
    await first.waitForLog(logMsg("minted and committed a token"), 20_000)
    const second = await startReplica(config, { name: "second", env: secretEnv(started) })
    await terminate(second)
    await terminate(first)
  })

  it("while its leader's call to the upstream hangs", async () => {
    const started = await upstream()
    started.sim.setHang(true)
    // The call would otherwise time out on its own; the signal must not wait for it.
    const config = configFor(inject("natsUrl"), started, { timeoutMillis: 120_000 })
    const replica = await startReplica(config, { env: secretEnv(started) })
    await waitUntil(() => started.sim.counters().tokenRequests >= 1, 20_000, "the mint reached the upstream")
    await terminate(replica)
    expect(started.sim.counters().mints).toBe(0)
  })

  /** A leader whose NATS server has just gone away. */
  const strandedLeader = async (nats: LocalNatsServer) => {
    const started = await upstream()
    const replica = await startReplica(configFor(nats.url, started), { env: secretEnv(started) })
    await replica.waitForLog(logMsg("minted and committed a token"), 20_000)
    await nats.stop()
    await replica.waitForLog(logMsg("disconnected from NATS"), 20_000)
    return replica
  }

  it("after the NATS server it was connected to went away", async () => {
    const nats = await startNatsServer()
    try {
      // Slower than the rest: the lock release (bounded at 2 s) and the drains wait for a NATS that is gone.
      await terminate(await strandedLeader(nats), STRANDED_MS)
    } finally {
      await nats.stop()
    }
  })

  it("at once, with exit 1 and one line saying so, on a second SIGTERM", async () => {
    const nats = await startNatsServer()
    try {
      const replica = await strandedLeader(nats)
      const sentAt = replica.kill("SIGTERM")
      await new Promise((resolve) => setTimeout(resolve, 200))
      replica.kill("SIGTERM")
      const exit = await replica.exited
      expect(exit, replica.dump()).toEqual({ code: 1, signal: null })
      expect(Date.now() - sentAt).toBeLessThan(1_500)
      expect(replica.stderr.trimEnd().split("\n"), replica.stderr).toEqual([
        "tokenbus: SIGTERM again; exiting without finishing the shutdown"
      ])
    } finally {
      await nats.stop()
    }
  })
})

describe("an invalid option stops start-up with one line naming it", () => {
  it("TOKENBUS_LOG_LEVEL=Warning: names the variable and the levels there are", async () => {
    const line = oneLine(await runTokenbus(["serve", "--config", "/nonexistent/tokenbus.json"], {
      TOKENBUS_LOG_LEVEL: "Warning"
    }))
    expect(line).toContain("TOKENBUS_LOG_LEVEL")
    expect(line).toContain("Warning")
    for (const level of ["Debug", "Info", "Warn", "Error"]) expect(line).toContain(level)
  })

  it("a --config path that cannot be read: names the flag and the path", async () => {
    const line = oneLine(await runTokenbus(["serve", "--config", "/nonexistent/tokenbus.json"]))
    expect(line).toContain("--config")
    expect(line).toContain("/nonexistent/tokenbus.json")
    expect(line).toContain("JSON configuration file")
  })

  it("a TOKENBUS_CONFIG path that cannot be read: names the variable", async () => {
    const line = oneLine(await runTokenbus(["serve"], { TOKENBUS_CONFIG: "/nonexistent/from-env.json" }))
    expect(line).toContain("TOKENBUS_CONFIG")
    expect(line).toContain("/nonexistent/from-env.json")
  })

  it("no configuration at all, and a flag serve does not have: each says what serve takes", async () => {
    const missing = oneLine(await runTokenbus(["serve"]))
    expect(missing).toContain("--config")
    expect(missing).toContain("TOKENBUS_CONFIG")
    const unknown = oneLine(await runTokenbus(["serve", "--confg", "/x.json"]))
    expect(unknown).toContain("--confg")
    expect(unknown).toContain("--config")
  })

  it("a configuration file that is not valid: one line naming the file and the field", async () => {
    const started = await upstream()
    const replica = await spawnReplica({ ...configFor(inject("natsUrl"), started), nats: { servers: [] } })
    await replica.exited
    expect(replica.exit?.code).toBe(1)
    const lines = replica.stderr.trimEnd().split("\n")
    expect(lines, replica.stderr).toHaveLength(1)
    expect(lines[0]).toContain(replica.configPath)
    expect(lines[0]).toContain("servers")
  })
})
