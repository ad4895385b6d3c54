/**
 * A TCP server speaking just enough of the NATS protocol for clients that
 * subscribe and make requests, so a test runs the real NatsConnection and
 * nats.js against answers and refusals it writes. It keeps each client's
 * subscriptions, answers a request (a PUB with a reply subject) with what
 * `answer` returns, delivered to the reply inbox, and refuses a PUB or SUB
 * the test denies with the `-ERR 'Permissions Violation ...'` line
 * nats-server sends (the connection stays open, as there). `publish` sends a
 * message to every client subscribed to its subject, as an update would come.
 */
import type { Socket } from "node:net"
import { Effect, type Scope } from "effect"
import { localListener } from "./internal/LocalListener.ts"

/** The reply to a request on `subject`; undefined leaves it unanswered. */
export type FakeAnswer = (subject: string, payload: string) => string | undefined

export interface FakeNatsServerOptions {
  /** Answers the requests; by default each is answered with its own payload. */
  readonly answer?: FakeAnswer
  /** Subjects a PUB to is refused. */
  readonly denyPublish?: ReadonlyArray<string>
  /** Whether a SUB to `subject` is refused; none is by default. */
  readonly denySubscribe?: (subject: string) => boolean
}

export interface FakeNatsServer {
  readonly url: string
  /** The subjects of the requests received (and not refused), in order. */
  readonly requests: () => ReadonlyArray<string>
  /** The subjects of the SUBs received, refused ones included, in order. */
  readonly subscribed: () => ReadonlyArray<string>
  /** Sends `payload` on `subject` to every connected client subscribed to it. */
  readonly publish: (subject: string, payload: string) => void
}

const info = JSON.stringify({ server_id: "fake", version: "2.10.0", proto: 1, max_payload: 1048576 })

const violation = (operation: "Publish" | "Subscription", subject: string) =>
  `-ERR 'Permissions Violation for ${operation} to "${subject}"'\r\n`

/** `_INBOX.abc.*` matches `_INBOX.abc.token`: the one wildcard nats.js's request inbox uses. */
const matches = (pattern: string, subject: string) =>
  pattern.endsWith(".*") ? subject.startsWith(pattern.slice(0, -1)) : pattern === subject

interface Shared {
  readonly options: FakeNatsServerOptions
  readonly requests: Array<string>
  readonly subscribed: Array<string>
  readonly clients: Set<(subject: string, payload: string) => void>
}

const serve = (socket: Socket, { clients, options, requests, subscribed }: Shared) => {
  const subscriptions = new Map<string, string>()
  let buffered = ""
  const deliver = (subject: string, payload: string) => {
    for (const [sid, pattern] of subscriptions) {
      if (!matches(pattern, subject)) continue
      socket.write(`MSG ${subject} ${sid} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`)
    }
  }
  const publish = (subject: string, reply: string | undefined, payload: string) => {
    if (options.denyPublish?.includes(subject)) return void socket.write(violation("Publish", subject))
    if (reply === undefined) return
    requests.push(subject)
    const text = (options.answer ?? ((_, echoed) => echoed))(subject, payload)
    if (text !== undefined) deliver(reply, text)
  }
  const sub = (subject: string, sid: string) => {
    subscribed.push(subject)
    if (options.denySubscribe?.(subject) === true) socket.write(violation("Subscription", subject))
    else subscriptions.set(sid, subject)
  }
  /** Handles the first command in the buffer; false when it is not all there yet. */
  const next = (): boolean => {
    const end = buffered.indexOf("\r\n")
    if (end === -1) return false
    const [verb = "", ...args] = buffered.slice(0, end).split(" ")
    if (verb === "PUB") {
      const size = Number(args.at(-1))
      if (buffered.length < end + 2 + size + 2) return false
      const payload = buffered.slice(end + 2, end + 2 + size)
      buffered = buffered.slice(end + 2 + size + 2)
      publish(args[0] ?? "", args.length === 3 ? args[1] : undefined, payload)
      return true
    }
    buffered = buffered.slice(end + 2)
    if (verb === "PING") socket.write("PONG\r\n")
    if (verb === "SUB") sub(args[0] ?? "", args.at(-1) ?? "")
    return true
  }
  clients.add(deliver)
  socket.on("close", () => clients.delete(deliver))
  socket.write(`INFO ${info}\r\n`)
  socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString()
    while (next()) continue
  })
}

/** Listens on 127.0.0.1 until the scope closes. */
export const fakeNatsServer = (
  options: FakeNatsServerOptions = {}
): Effect.Effect<FakeNatsServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const shared: Shared = { options, requests: [], subscribed: [], clients: new Set() }
    const url = yield* localListener((socket) => serve(socket, shared))
    return {
      url,
      requests: () => shared.requests,
      subscribed: () => shared.subscribed,
      publish: (subject, payload) => {
        for (const deliver of shared.clients) deliver(subject, payload)
      }
    }
  })
