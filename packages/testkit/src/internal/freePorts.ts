/**
 * Free TCP ports on 127.0.0.1 for the NATS server in the container, which
 * runs on the host's network and must be told its ports. They are reserved by
 * listening on port 0 and released at once, so another process could in
 * principle take one before the server binds it.
 */
import { createServer, type Server } from "node:net"

export const freePorts = async (count: number): Promise<Array<number>> => {
  const servers = await Promise.all(Array.from({ length: count }, listenOnAnyPort))
  const ports = servers.map((server) => {
    const address = server.address()
    return address === null || typeof address === "string" ? 0 : address.port
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
