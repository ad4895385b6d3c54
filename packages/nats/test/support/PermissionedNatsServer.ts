// A TCP server speaking just enough of the NATS protocol to stand for one
// whose user has limited permissions: it accepts the connection, refuses a
// PUB to a subject the test denies and a SUB to the reply inboxes when the
// test denies those, with the `-ERR 'Permissions Violation ...'` lines
// nats-server sends (the connection stays open, as there), and answers a
// permitted request by echoing its payload to the reply subject.
import { createServer, type Socket } from "node:net"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface PermissionedNatsServer {
  readonly url: string
}

export interface Denials {
  /** Subjects a PUB to is refused. */
  readonly publish: ReadonlyArray<string>
  /** Refuse every SUB under `_INBOX.` (where nats.js receives the replies to its requests). */
  readonly inboxes: boolean
}

const info = JSON.stringify({ server_id: "permissioned", version: "2.10.0", proto: 1, max_payload: 1048576 })

const violation = (operation: "Publish" | "Subscription", subject: string) =>
  `-ERR 'Permissions Violation for ${operation} to "${subject}"'\r\n`

/** `_INBOX.abc.*` matches `_INBOX.abc.token`: the one wildcard nats.js's request inbox uses. */
const matches = (pattern: string, subject: string) =>
  pattern.endsWith(".*") ? subject.startsWith(pattern.slice(0, -1)) : pattern === subject

const serve = (socket: Socket, denials: Denials) => {
  const subscriptions = new Map<string, string>()
  let buffered = ""
  const publish = (subject: string, reply: string | undefined, payload: string) => {
    if (denials.publish.includes(subject)) return void socket.write(violation("Publish", subject))
    if (reply === undefined) return
    for (const [sid, pattern] of subscriptions) {
      if (matches(pattern, reply)) socket.write(`MSG ${reply} ${sid} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`)
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
      publish(args[0] ?? "", args.length === 3 ? args[1] : undefined, buffered.slice(end + 2, end + 2 + size))
      buffered = buffered.slice(end + 2 + size + 2)
      return true
    }
    buffered = buffered.slice(end + 2)
    if (verb === "PING") socket.write("PONG\r\n")
    if (verb === "SUB") {
      const subject = args[0] ?? ""
      if (denials.inboxes && subject.startsWith("_INBOX.")) socket.write(violation("Subscription", subject))
      else subscriptions.set(args.at(-1) ?? "", subject)
    }
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
export const permissionedNatsServer = (denials: Denials) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<PermissionedNatsServer & { readonly close: () => Promise<void> }>((resolve) => {
        const sockets = new Set<Socket>()
        const server = createServer((socket) => {
          sockets.add(socket)
          serve(socket, denials)
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
    (server) => Effect.promise(server.close)
  )
