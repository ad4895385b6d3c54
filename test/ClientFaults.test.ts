// The client's promises under faults, end to end: a fleet of TokenbusClients
// sending their first `get` while the replica NATS hands some of them to is
// SIGKILLed (a request the dead replica had taken is lost with it; the client
// sends it once more and another replica answers); a client started before
// NATS is up, with and without `waitOnFirstConnect`; and a client cut off
// from NATS while a token was minted, catching up once reconnected.
import { type AddressInfo, connect as netConnect, createServer, type Socket } from "node:net"
import { TokenbusClient } from "@tokenbus/client"
import { freePorts, PROVIDER, sleep, startNatsServer, waitUntil } from "@tokenbus/testing"
import { describe, expect, inject, it } from "vitest"
import { clusterForTest } from "./support/ServiceFixture.ts"

/** The replicas' wait for a leader, short so the test is; the clients wait 2 s more per attempt (PROTOCOL.md). */
const replicaTimeoutMillis = 1000
const clientTimeoutMillis = replicaTimeoutMillis + 2000

interface GetOutcome {
  readonly millis: number
  readonly version?: number
  readonly error?: string
}

const timedGet = async (client: TokenbusClient): Promise<GetOutcome> => {
  const started = performance.now()
  try {
    const token = await client.getToken(PROVIDER)
    return { millis: performance.now() - started, version: token.version }
  } catch (error) {
    return { millis: performance.now() - started, error: String(error) }
  }
}

/** `count` clients holding no token yet, so each one's first `get` goes to the replicas. */
const connectFleet = async (count: number, prefix: string): Promise<Array<TokenbusClient>> => {
  const options = { prefix, requestTimeoutMillis: clientTimeoutMillis, nats: { servers: [inject("natsUrl")] } }
  const fleet: Array<TokenbusClient> = []
  for (let start = 0; start < count; start += 20) {
    const batch = Array.from({ length: Math.min(20, count - start) }, (_, index) =>
      TokenbusClient.connect({ ...options, nats: { ...options.nats, name: `fleet-${start + index}` } }))
    fleet.push(...(await Promise.all(batch)))
  }
  return fleet
}

describe("client faults", () => {
  it("no get fails when a replica is SIGKILLed as gets reach it, while another replica holds the token", async () => {
    const cluster = await clusterForTest({ replicas: 3, requestTimeoutMillis: replicaTimeoutMillis })
    const token = await cluster.firstToken()
    const fleet = await connectFleet(150, cluster.prefix)
    try {
      const victim = cluster.leader()?.replica
      if (victim === undefined) throw new Error("no leader")
      const gets: Array<Promise<GetOutcome>> = []
      // Gets from the moment of the kill until well after the server has seen the process die.
      const killed = victim.stop("SIGKILL")
      for (let sent = 0; sent < fleet.length; sent += 10) {
        gets.push(...fleet.slice(sent, sent + 10).map(timedGet))
        await sleep(1)
      }
      await killed
      const outcomes = await Promise.all(gets)

      const retried = outcomes.filter((outcome) => outcome.millis >= clientTimeoutMillis).length
      process.stderr.write(`[measure] ${retried} of ${outcomes.length} gets lost with the killed replica, sent again\n`)
      expect(outcomes.filter((outcome) => outcome.error !== undefined)).toEqual([])
      expect(new Set(outcomes.map((outcome) => outcome.version))).toEqual(new Set([token.version]))
      // One attempt's wait and a second answered at once, never two waits.
      expect(Math.max(...outcomes.map((outcome) => outcome.millis))).toBeLessThan(2 * clientTimeoutMillis)
    } finally {
      await Promise.all(fleet.map((client) => client.close()))
    }
    expect(cluster.sim.counters()).toMatchObject({ mints: 1, tokenRequests: 1 })
    cluster.expectNoSecretsInLogs()
  })

  it("with NATS down, connect fails with ServiceUnavailable, or with waitOnFirstConnect waits for NATS", async () => {
    const [port] = await freePorts(1)
    const servers = [`nats://127.0.0.1:${port}`]
    await expect(TokenbusClient.connect({ nats: { servers } })).rejects.toMatchObject({ _tag: "ServiceUnavailable" })

    let settled: "connected" | unknown = undefined
    const connecting = TokenbusClient.connect({ nats: { servers, waitOnFirstConnect: true } })
    void connecting.then(() => (settled = "connected"), (error: unknown) => (settled = error))
    await sleep(1500)
    expect(settled).toBeUndefined()

    const server = await startNatsServer({ port: port! })
    try {
      const client = await connecting
      try {
        // Connected to a NATS with no tokenbus on it: nobody answers.
        const refused = { _tag: "ServiceUnavailable", provider: PROVIDER }
        await expect(client.getToken(PROVIDER)).rejects.toMatchObject(refused)
      } finally {
        await client.close()
      }
    } finally {
      await server.stop()
    }
  })

  it("a client cut off from NATS while a new token was minted fetches it once reconnected", async () => {
    const cluster = await clusterForTest({ replicas: 2 })
    const first = await cluster.firstToken()
    const link = await startCuttableLink(new URL(inject("natsUrl")))
    const client = await TokenbusClient.connect({ prefix: cluster.prefix, nats: { servers: [link.url] } })
    try {
      expect((await client.getToken(PROVIDER)).version).toBe(first.version)
      link.cut()
      // The leader mints and broadcasts while this client cannot hear it.
      const reply = await cluster.reportUnauthorized(first.version)
      if (!reply.ok) throw new Error(`the 401 report was refused: ${JSON.stringify(reply)}`)
      const second = reply.token.version
      expect(second).toBeGreaterThan(first.version)
      await sleep(500)
      expect(client.peek(PROVIDER)?.version).toBe(first.version)
      link.heal()
      await waitUntil(() => client.peek(PROVIDER)?.version === second, 10_000, "the client did not catch up")
    } finally {
      await client.close()
      await link.close()
    }
    expect(cluster.sim.counters()).toMatchObject({ mints: 2 })
  })
})

/**
 * A TCP relay to the NATS server that the test can cut (every connection
 * through it dropped, new ones refused) and heal, as a network failure
 * between one client and NATS would.
 */
const startCuttableLink = async (target: URL) => {
  let open = true
  const sockets = new Set<Socket>()
  const server = createServer((inbound) => {
    if (!open) return void inbound.destroy()
    const outbound = netConnect(Number(target.port), target.hostname)
    for (const socket of [inbound, outbound]) {
      sockets.add(socket)
      socket.on("error", () => undefined).on("close", () => {
        sockets.delete(socket)
        inbound.destroy()
        outbound.destroy()
      })
    }
    inbound.pipe(outbound).pipe(inbound)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const cut = () => {
    open = false
    for (const socket of sockets) socket.destroy()
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    cut,
    heal: () => void (open = true),
    close: () => {
      cut()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
