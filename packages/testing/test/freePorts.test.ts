// Ports for servers a test starts itself, on host networking: below the
// kernel's ephemeral range, so a port released here is not handed to some
// outgoing connection before the server binds it (a chaos cluster's node
// exited at start in CI, "Log stream ended and message 'Server is ready'
// was not received", on ports drawn with listen(0)), distinct, and free.
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { describe, expect, it } from "vitest"
import { freePorts } from "../src/freePorts.ts"

const ephemeralLow = (): number => {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0])
  } catch {
    return 32_768
  }
}

const listen = (port: number) =>
  new Promise<void>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()))
  })

describe("freePorts", () => {
  it("gives distinct ports below the ephemeral range that a server can then listen on", async () => {
    const ports = await freePorts(20)
    expect(new Set(ports).size).toBe(20)
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(1024)
      expect(port).toBeLessThan(ephemeralLow())
      await listen(port)
    }
  })
})
