// `tokenbus dev --seal-bus`: the local stack's replicas seal the access token
// on the bus, and the banner says where the bus key is. A client given the
// key from the file the banner names gets a token the simulated project44
// accepts; a client without it fails with UnsealableToken; a raw requester
// sees `sealedAccessToken`, never the token; and the key itself is never
// printed.
import { spawn } from "node:child_process"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { connect } from "@nats-io/transport-node"
import { TokenbusClient } from "@tokenbus/client"
import { freePorts, getPayload, requestReply, waitUntil } from "@tokenbus/testing"
import { afterAll, describe, expect, it } from "vitest"

const bin = join(import.meta.dirname, "../packages/service/src/bin.ts")

describe("tokenbus dev --seal-bus", () => {
  let child: ReturnType<typeof spawn> | undefined
  afterAll(() => void child?.kill("SIGKILL"))

  it("seals tokens on the bus and prints where a client gets the key", async () => {
    expect(process.env["NATS_SERVER_BIN"], "NATS_SERVER_BIN is not set: run the tests with scripts/test").toBeDefined()
    const [natsPort, upstreamPort] = await freePorts(2)
    let output = ""
    child = spawn(
      process.execPath,
      [bin, "dev", "--nats-port", String(natsPort), "--upstream-port", String(upstreamPort), "--seal-bus"],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TOKENBUS_LOG_LEVEL: "Info" } }
    )
    const exited = new Promise<number | null>((resolve) => child?.once("exit", (code) => resolve(code)))
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    await waitUntil(() => output.includes("Stop with Ctrl-C"), 20_000, `tokenbus dev did not start:\n${output}`)

    const hint = /Open sealed tokens: a client's busKeys is \[\{ id: "([\w-]+)", key: <the base64 in (\S+)> \}\]/
      .exec(output)
    expect(hint, output).not.toBeNull()
    const [, id = "", file = ""] = hint ?? []
    expect(output).toContain(`--bus-key ${id}=${file}`)
    const key = (await readFile(file, "utf8")).trim()
    const servers = [`nats://127.0.0.1:${natsPort}`]

    const wire = await connect({ servers })
    try {
      const reply = await requestReply(wire, "tokenbus.token.project44.get", getPayload, 10_000)
      const raw = (reply.ok ? reply.token : {}) as Record<string, unknown>
      expect(raw["accessToken"]).toBeUndefined()
      expect(String(raw["sealedAccessToken"])).toMatch(new RegExp(`^a256gcm\\.${id}\\.`))
    } finally {
      await wire.close()
    }

    const keyless = await TokenbusClient.connect({ servers })
    try {
      await expect(keyless.getToken("project44")).rejects.toMatchObject({ _tag: "UnsealableToken", keyId: id })
    } finally {
      await keyless.close()
    }
    const client = await TokenbusClient.connect({ servers, busKeys: [{ id, key }] })
    try {
      const response = await client.fetch("project44", `http://127.0.0.1:${upstreamPort}/api/v4/shipments`)
      expect(response.status).toBe(200)
    } finally {
      await client.close()
    }

    child.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(output).not.toContain(key)
  })
})
