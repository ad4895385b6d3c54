/**
 * The HTTP server under a simulator: it listens on 127.0.0.1 only (a test
 * upstream has no business on other interfaces), serves the `/_sim/*` admin
 * endpoints every sim has and hands any other path to the sim's own routes.
 * Closing it cuts every connection at once, keep-alive and hung ones
 * included, so a test's teardown never waits on a client still holding a socket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { ADMIN_PREFIX, type AdminControls, makeAdminEndpoints } from "./AdminEndpoints.ts"

export interface SimServer {
  /** "http://127.0.0.1:PORT" */
  readonly baseUrl: string
  /** Idempotent: later calls return the first call's promise. */
  readonly close: () => Promise<void>
}

export interface SimServerOptions {
  readonly port: number
  readonly admin: AdminControls
  /** Every path outside `/_sim/`, without its query. */
  readonly route: (path: string, req: IncomingMessage, res: ServerResponse) => void
  /** Runs once, before the connections are cut (to cancel pending timers). */
  readonly beforeClose: () => void
}

export const listenSimServer = async (options: SimServerOptions): Promise<SimServer> => {
  const admin = makeAdminEndpoints(options.admin)
  const server = createServer((req, res) => {
    const path = requestPath(req)
    if (path.startsWith(ADMIN_PREFIX)) return admin(path, req, res)
    options.route(path, req, res)
  })
  const boundPort = await listen(server, options.port)
  return { baseUrl: `http://127.0.0.1:${boundPort}`, close: closeOnce(server, options.beforeClose) }
}

/** The path of a request target, without its query. */
const requestPath = (req: IncomingMessage): string =>
  // Not `new URL`: a request target like "//x" would be read as a host name.
  (req.url ?? "/").split("?")[0] ?? "/"

const listen = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject)
      // Listening on a host and port always yields an AddressInfo.
      resolve((server.address() as AddressInfo).port)
    })
  })

const closeOnce = (server: Server, beforeClose: () => void): (() => Promise<void>) => {
  let closed: Promise<void> | undefined
  return () =>
    (closed ??= new Promise<void>((resolve) => {
      beforeClose()
      server.close(() => resolve())
      server.closeAllConnections()
    }))
}
