/**
 * Free TCP ports on 127.0.0.1 for servers that must be told their port (a
 * NATS container on the host's network, the ports a test gives `tokenbus
 * dev`; a local nats-server picks its own). Each is checked by listening on
 * it, then released for the server to bind a moment later.
 *
 * They are drawn below the kernel's ephemeral range, not with `listen(0)`:
 * a port `listen(0)` hands out is an ephemeral one, and once released the
 * kernel may give it to any outgoing connection before the server binds it.
 * A chaos cluster's node then exits at start (CI: "Log stream ended and
 * message 'Server is ready' was not received"). Below that range only an
 * explicit bind takes a port, and the check sees it.
 */
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:net"

/** The lowest port drawn: above the registered services most hosts run. */
const lowest = 10_000

/** Where the ephemeral range starts: Linux says; elsewhere, 32768 is below every system's default. */
const ephemeralStart = (): number => {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)
    return Number.isInteger(Number(low)) ? Number(low) : 32_768
  } catch {
    return 32_768
  }
}

/** Reserves `count` distinct free TCP ports on 127.0.0.1, then releases them. */
export const freePorts = async (count: number): Promise<Array<number>> => {
  const highest = ephemeralStart()
  // A host whose ephemeral range starts low leaves no room below it: take the kernel's ports then.
  const draw = highest - lowest < 1000 ? () => 0 : () => lowest + Math.floor(Math.random() * (highest - lowest))
  const servers: Array<Server> = []
  try {
    for (let tries = 0; servers.length < count; tries++) {
      if (tries > count * 100) throw new Error(`no ${count} free ports between ${lowest} and ${highest}`)
      const server = await listenOn(draw())
      if (server !== undefined) servers.push(server)
    }
    return servers.map(portOf)
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
  }
}

/** A server listening on `port` (0: any), or undefined when the port is taken. */
const listenOn = (port: number) =>
  new Promise<Server | undefined>((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(undefined))
    server.listen(port, "127.0.0.1", () => resolve(server))
  })

const portOf = (server: Server): number => {
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("unexpected server address")
  return address.port
}
