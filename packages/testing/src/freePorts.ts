/**
 * Free TCP ports on 127.0.0.1 for servers that must be told their port (a
 * NATS container, the ports a test gives `tokenbus dev`; a local nats-server
 * picks its own). The ports are reserved by listening on port
 * 0 and then released, so another process could in principle take one before
 * it is used; on a test machine that race has not been seen.
 */
import { createServer, type Server } from "node:net"

/** Reserves `count` distinct free TCP ports on 127.0.0.1, then releases them. */
export const freePorts = async (count: number): Promise<Array<number>> => {
  const servers = await Promise.all(Array.from({ length: count }, listenOnAnyPort))
  const ports = servers.map((server) => {
    const address = server.address()
    if (address === null || typeof address === "string") throw new Error("unexpected server address")
    return address.port
  })
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
  return ports
}

const listenOnAnyPort = () =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve(server))
  })
