// A TCP server that counts connections and closes each as soon as it opens,
// as a port whose NATS is restarting does.
import { createServer, type Socket } from "node:net"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface DroppingServer {
  readonly url: string
  readonly accepted: () => number
}

/** Listens on 127.0.0.1 until the scope closes. */
export const droppingServer = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<DroppingServer & { readonly close: () => Promise<void> }>((resolve) => {
      let accepted = 0
      const server = createServer((socket: Socket) => {
        accepted += 1
        socket.destroy()
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resolve({
          url: `nats://127.0.0.1:${port}`,
          accepted: () => accepted,
          close: () => new Promise((done) => server.close(() => done()))
        })
      })
    })
  ),
  (server) => Effect.promise(server.close)
)
