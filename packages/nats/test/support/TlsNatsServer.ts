// A TCP server speaking just enough of the NATS protocol over TLS: it sends
// INFO with `tls_required`, as nats-server does, upgrades the connection
// with a self-signed certificate for 127.0.0.1 and localhost (made with the `openssl`
// command, valid for a day) and answers PING with PONG, so a client that
// trusts the certificate (`caFile`) connects and one that does not fails
// the TLS handshake. It counts the connections it accepted.
import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { createServer, type Socket } from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createSecureContext, type SecureContext, TLSSocket } from "node:tls"
import { promisify } from "node:util"
import { Effect } from "effect"

const run = promisify(execFile)

export interface TlsNatsServer {
  readonly url: string
  /** The server's certificate, which is its own CA: a client given it as `caFile` trusts the server. */
  readonly certFile: string
  readonly accepted: () => number
}

const info = JSON.stringify({ server_id: "tls", version: "2.10.0", proto: 1, max_payload: 1048576, tls_required: true })

const makeCertificate = async (dir: string) => {
  const certFile = join(dir, "server.pem")
  const keyFile = join(dir, "server.key")
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"
  ])
  return { certFile, context: createSecureContext({ cert: await readFile(certFile), key: await readFile(keyFile) }) }
}

const serve = (socket: Socket, context: SecureContext) => {
  socket.on("error", () => undefined)
  socket.write(`INFO ${info}\r\n`, () => {
    const secure = new TLSSocket(socket, { isServer: true, secureContext: context })
    secure.on("error", () => undefined)
    secure.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("PING\r\n")) secure.write("PONG\r\n")
    })
  })
}

/** Listens on 127.0.0.1 until the scope closes. */
export const tlsNatsServer = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await mkdtemp(join(tmpdir(), "tokenbus-nats-tls-"))
    const { certFile, context } = await makeCertificate(dir)
    let accepted = 0
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      accepted += 1
      sockets.add(socket)
      serve(socket, context)
    })
    const port = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
    )
    const close = async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((done) => server.close(() => done()))
      await rm(dir, { recursive: true, force: true })
    }
    return { url: `nats://127.0.0.1:${port}`, certFile, accepted: () => accepted, close } satisfies TlsNatsServer & {
      readonly close: () => Promise<void>
    }
  }),
  (server) => Effect.promise(server.close)
)
