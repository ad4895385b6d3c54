/**
 * Tiny HTTP servers on 127.0.0.1 for the minters' tests: answers the
 * simulators never give (a 200 without a token, HTML, a dropped connection),
 * a record of exactly what a minter sent, and a port nobody listens on.
 */
import { createServer, type RequestListener } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface LocalServer {
  /** The server's address with `path` appended. */
  readonly url: string
  readonly close: () => Promise<void>
}

/** A server answering with `handler`, closed (its connections too) with the scope. */
export const localServer = (handler: RequestListener, path = "") =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<LocalServer>((resolve, reject) => {
        const server = createServer(handler)
        server.once("error", reject)
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resolve({
            url: `http://127.0.0.1:${port}${path}`,
            close: () =>
              new Promise<void>((done) => {
                server.close(() => done())
                server.closeAllConnections()
              })
          })
        })
      })
    ),
    (server) => Effect.promise(() => server.close())
  )

/** A handler answering `status` with `body` as JSON. */
export const answerJson = (status: number, body: unknown, headers: Record<string, string> = {}): RequestListener =>
(req, res) => {
  req.resume()
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

export interface SeenRequest {
  readonly url: string | undefined
  readonly authorization: string | undefined
  readonly body: string
}

/** A server that records each request and answers it 200 with `reply` as JSON. */
export const recordingServer = (reply: unknown, path = "") =>
  Effect.gen(function*() {
    const seen: Array<SeenRequest> = []
    const server = yield* localServer((req, res) => {
      let body = ""
      req.setEncoding("utf8")
      req.on("data", (chunk: string) => (body += chunk))
      req.on("end", () => {
        seen.push({ url: req.url, authorization: req.headers.authorization, body })
        answerJson(200, reply)(req, res)
      })
    }, path)
    return { url: server.url, seen: seen as ReadonlyArray<SeenRequest> }
  })

/** A URL on a port that was free a moment ago and now has nobody listening. */
export const unusedUrl = (path = "") =>
  Effect.gen(function*() {
    const { close, url } = yield* Effect.promise(() =>
      new Promise<LocalServer>((resolve) => {
        const server = createServer()
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resolve({ url: `http://127.0.0.1:${port}${path}`, close: () => new Promise((done) => server.close(() => done())) })
        })
      })
    )
    yield* Effect.promise(close)
    return url
  })
