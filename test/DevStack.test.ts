// The README's first command: `scripts/start` runs `tokenbus dev`, which must
// bring up a local NATS server, the simulated project44 and replicas with
// nothing else running, serve a token, and stop cleanly on SIGTERM.
import { spawn } from "node:child_process"
import { join } from "node:path"
import { TokenbusClient } from "@tokenbus/client"
import { freePorts, waitUntil } from "@tokenbus/testing"
import { afterAll, describe, expect, it } from "vitest"

const bin = join(import.meta.dirname, "../packages/service/src/bin.ts")

describe("tokenbus dev", () => {
  const natsServer = process.env["NATS_SERVER_BIN"]
  let child: ReturnType<typeof spawn> | undefined
  afterAll(() => void child?.kill("SIGKILL"))

  it("serves a token from a local stack and stops cleanly on SIGTERM", async () => {
    // scripts/test installs nats-server and sets NATS_SERVER_BIN, as scripts/start does.
    expect(natsServer, "NATS_SERVER_BIN is not set: run the tests with scripts/test").toBeDefined()
    const [natsPort, upstreamPort] = await freePorts(2)
    let output = ""
    child = spawn(
      process.execPath,
      [bin, "dev", "--nats-port", String(natsPort), "--upstream-port", String(upstreamPort), "--replicas", "2"],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TOKENBUS_LOG_LEVEL: "Info" } }
    )
    const exited = new Promise<number | null>((resolve) => child?.once("exit", (code) => resolve(code)))
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    await waitUntil(() => output.includes("tokenbus dev is running"), 20_000, `tokenbus dev did not start:\n${output}`)

    const client = await TokenbusClient.connect({ servers: [`nats://127.0.0.1:${natsPort}`] })
    try {
      const token = await client.getToken("project44")
      expect(token.reason).toBe("initial")
      const response = await client.fetch("project44", `http://127.0.0.1:${upstreamPort}/api/v4/shipments`)
      expect(response.status).toBe(200)
    } finally {
      await client.close()
    }
    const counters = (await (await fetch(`http://127.0.0.1:${upstreamPort}/_sim/counters`)).json()) as Record<string, number>
    expect(counters).toMatchObject({ mints: 1, resourceOk: 1 })

    child.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(output).toContain("released the lock")
  })
})
