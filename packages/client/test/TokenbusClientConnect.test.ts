// Starting a client while NATS is down: `TokenbusClient.connect` fails with
// the documented `ServiceUnavailable`, not nats.js's own error. (Waiting for
// NATS instead, `waitOnFirstConnect`, needs a server that comes up later:
// test/ClientFaults.test.ts.)
import { createServer } from "node:net"
import { describe, expect, it } from "vitest"
import { TokenbusClient } from "../src/TokenbusClient.ts"

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
const unusedPort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(address)))
    })
  })

describe("TokenbusClient.connect with NATS down", () => {
  it("fails with ServiceUnavailable, naming the servers it tried", async () => {
    const url = `nats://127.0.0.1:${await unusedPort()}`
    const error: unknown = await TokenbusClient.connect({ nats: { servers: [url] } }).then(
      (client) => client.close().then(() => expect.fail("connected to a server that is not there")),
      (e: unknown) => e
    )
    expect((error as { _tag?: string })._tag, String(error)).toBe("ServiceUnavailable")
    expect((error as { message?: string }).message).toContain(url)
  })
})
