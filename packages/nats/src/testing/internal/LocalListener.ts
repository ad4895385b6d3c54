/**
 * A TCP listener on 127.0.0.1 for the life of a scope: what every fake NATS
 * server in the tests stands on. Closing it destroys the sockets still open,
 * so a client that keeps its connection does not hold the scope's close.
 */
import { createServer, type Socket } from "node:net"
import type { AddressInfo } from "node:net"
import { Effect, type Scope } from "effect"

/** Listens on a free port, handing each connection to `onSocket`; the `nats://` URL of it. */
export const localListener = (onSocket: (socket: Socket) => void): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ readonly url: string; readonly close: () => Promise<void> }>((resolve) => {
        const sockets = new Set<Socket>()
        const server = createServer((socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          socket.on("error", () => undefined)
          onSocket(socket)
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resolve({
            url: `nats://127.0.0.1:${port}`,
            close: () =>
              new Promise((done) => {
                for (const socket of sockets) socket.destroy()
                server.close(() => done())
              })
          })
        })
      })
    ),
    (listener) => Effect.promise(listener.close)
  ).pipe(Effect.map((listener) => listener.url))
