// A TCP server speaking just enough of the NATS protocol to stand for one
// that asks for credentials and refuses them: it sends INFO with
// `auth_required` and a nonce, records the CONNECT each client sends (what
// nats.js made of the options: user and pass, token, NKey and the signed
// nonce, JWT), and answers `-ERR 'Authorization Violation'`, as nats-server
// does for a wrong credential.
import type { Socket } from "node:net"
import { Effect } from "effect"
import { localListener } from "../../src/testing/internal/LocalListener.ts"

export const NONCE = "n0nce-for-the-test"

export interface RefusingNatsServer {
  readonly url: string
  /** Each CONNECT received, parsed. */
  readonly connects: () => ReadonlyArray<Record<string, unknown>>
}

const info = JSON.stringify({
  server_id: "refusing",
  version: "2.10.0",
  proto: 1,
  max_payload: 1048576,
  auth_required: true,
  nonce: NONCE
})

const serve = (socket: Socket, connects: Array<Record<string, unknown>>) => {
  let buffered = ""
  socket.write(`INFO ${info}\r\n`)
  socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString()
    const match = /^CONNECT (.*)\r\n/m.exec(buffered)
    if (match === null) return
    buffered = ""
    connects.push(JSON.parse(match[1] ?? "{}") as Record<string, unknown>)
    socket.end("-ERR 'Authorization Violation'\r\n")
  })
}

/** Listens on 127.0.0.1 until the scope closes. */
export const refusingNatsServer = Effect.suspend(() => {
  const connects: Array<Record<string, unknown>> = []
  return localListener((socket) => serve(socket, connects)).pipe(
    Effect.map((url): RefusingNatsServer => ({ url, connects: () => connects }))
  )
})
