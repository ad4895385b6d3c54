// A TCP server speaking just enough of the NATS protocol for one client that
// makes requests: it accepts the connection, keeps the client's
// subscriptions, and answers every request (a PUB with a reply subject) with
// what the test's `answer` returns for its subject and payload, delivered to
// the client's reply inbox. So a command that opens its own NATS connection
// (`tokenbus get`) runs whole, nats.js included, against replies the test
// writes: signed, unsigned or forged.
import { createServer, type Socket } from "node:net"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface ScriptedNatsServer {
  readonly url: string
  /** The subjects of the requests received, in order. */
  readonly requests: () => ReadonlyArray<string>
}

/** The reply to a request on `subject`; undefined leaves it unanswered. */
export type Answer = (subject: string, payload: string) => string | undefined

const info = JSON.stringify({ server_id: "scripted", version: "2.10.0", proto: 1, max_payload: 1048576 })

/** `_INBOX.abc.*` matches `_INBOX.abc.token`, the one wildcard nats.js's request inbox uses. */
const matches = (pattern: string, subject: string) =>
  pattern.endsWith(".*") ? subject.startsWith(pattern.slice(0, -1)) : pattern === subject

const serve = (socket: Socket, answer: Answer, requests: Array<string>) => {
  const subscriptions = new Map<string, string>()
  let buffered = ""
  const deliver = (subject: string, payload: string) => {
    for (const [sid, pattern] of subscriptions) {
      if (!matches(pattern, subject)) continue
      socket.write(`MSG ${subject} ${sid} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`)
    }
  }
  /** Handles the first command in the buffer; false when it is not all there yet. */
  const next = (): boolean => {
    const end = buffered.indexOf("\r\n")
    if (end === -1) return false
    const [verb = "", ...args] = buffered.slice(0, end).split(" ")
    if (verb === "PUB") {
      const size = Number(args.at(-1))
      if (buffered.length < end + 2 + size + 2) return false
      const [subject = "", reply] = args
      const payload = buffered.slice(end + 2, end + 2 + size)
      buffered = buffered.slice(end + 2 + size + 2)
      if (args.length === 3 && reply !== undefined) {
        requests.push(subject)
        const text = answer(subject, payload)
        if (text !== undefined) deliver(reply, text)
      }
      return true
    }
    buffered = buffered.slice(end + 2)
    if (verb === "PING") socket.write("PONG\r\n")
    if (verb === "SUB") subscriptions.set(args.at(-1) ?? "", args[0] ?? "")
    return true
  }
  socket.write(`INFO ${info}\r\n`)
  socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString()
    while (next()) continue
  })
  socket.on("error", () => undefined)
}

/** Listens on 127.0.0.1 until the scope closes. */
export const scriptedNatsServer = (answer: Answer) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<ScriptedNatsServer & { readonly close: () => Promise<void> }>((resolve) => {
        const requests: Array<string> = []
        const sockets = new Set<Socket>()
        const server = createServer((socket) => {
          sockets.add(socket)
          serve(socket, answer, requests)
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resolve({
            url: `nats://127.0.0.1:${port}`,
            requests: () => requests,
            close: () =>
              new Promise((done) => {
                for (const socket of sockets) socket.destroy()
                server.close(() => done())
              })
          })
        })
      })
    ),
    (server) => Effect.promise(server.close)
  )
