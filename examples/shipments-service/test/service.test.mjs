/**
 * The shipments service against a real tokenbus, with @tokenbus/testkit:
 * NATS, tokenbus replicas and a simulated project44. The service runs as its
 * own process (`src/main.mjs`), configured by its environment, as it would
 * in production; the test sees it only over HTTP.
 */
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { createInterface } from "node:readline"
import { test } from "node:test"
import { fileURLToPath } from "node:url"
import { startTokenbus } from "@tokenbus/testkit"

const main = fileURLToPath(new URL("../src/main.mjs", import.meta.url))

/** Starts `src/main.mjs` against the kit; resolves once it prints the URL it listens on. */
const startService = async (kit) => {
  const env = {
    ...process.env,
    NATS_SERVERS: kit.nats.servers.join(","),
    TOKENBUS_PREFIX: kit.prefix,
    PROJECT44_SHIPMENTS_URL: kit.resourceUrl,
    PORT: "0"
  }
  const child = spawn(process.execPath, [main], { env, stdio: ["ignore", "pipe", "inherit"] })
  const exited = once(child, "exit")
  const lines = createInterface({ input: child.stdout })
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the service did not listen within 30 s")), 30_000)
    lines.on("line", (line) => {
      const url = /listening on (\S+)/.exec(line)?.[1]
      if (url === undefined) return
      clearTimeout(timer)
      resolve(url)
    })
    exited.then(([code]) => {
      clearTimeout(timer)
      reject(new Error(`the service exited with ${code} before it listened`))
    })
  })
  const stop = async () => {
    child.kill("SIGTERM")
    const [code, signal] = await exited
    return { code, signal }
  }
  return { url, stop }
}

const getShipments = async (service) => {
  const response = await fetch(`${service.url}/shipments`)
  return { status: response.status, body: await response.json() }
}

test("GET /shipments answers with project44's shipments, and again after the token is revoked", async () => {
  await using kit = await startTokenbus()
  const service = await startService(kit)
  try {
    assert.deepEqual(await getShipments(service), { status: 200, body: { ok: true } })

    const mints = kit.mintCount()
    const refused = kit.upstreamCounters().resourceUnauthorized
    kit.revoke()
    assert.deepEqual(await getShipments(service), { status: 200, body: { ok: true } })
    // One 401 from project44, one new token, one retry: the caller saw only the 200.
    assert.equal(kit.upstreamCounters().resourceUnauthorized, refused + 1)
    assert.equal(kit.mintCount(), mints + 1)
  } finally {
    assert.deepEqual(await service.stop(), { code: 0, signal: null })
  }
})
