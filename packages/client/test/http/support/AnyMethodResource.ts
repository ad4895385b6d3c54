// A protected resource that answers any method, for requests with a body:
// the simulated project44 guards only GET (it answers anything else 405), so
// this one records each call's method and body and asks the simulator's
// resource whether the call's bearer token is good (a GET with the same
// Authorization header). The answer, and the simulator's counters, are the
// simulator's.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface RecordedCall {
  readonly method: string
  readonly body: string
}

export interface AnyMethodResource {
  readonly url: string
  readonly calls: () => ReadonlyArray<RecordedCall>
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8")
}

const answer = async (guardUrl: string, calls: Array<RecordedCall>, req: IncomingMessage, res: ServerResponse) => {
  calls.push({ method: req.method ?? "", body: await readBody(req) })
  const headers: Record<string, string> = req.headers.authorization === undefined
    ? {}
    : { authorization: req.headers.authorization }
  const guard = await fetch(guardUrl, { headers })
  res.writeHead(guard.status, { "content-type": "application/json" })
  res.end(await guard.text())
}

/** The resource in front of `guardUrl` (the simulator's resource), closed with the scope. */
export const acquireAnyMethodResource = (guardUrl: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const calls: Array<RecordedCall> = []
      const server = createServer((req, res) => {
        answer(guardUrl, calls, req, res).catch(() => res.destroy())
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const { port } = server.address() as AddressInfo
      return { server, resource: { url: `http://127.0.0.1:${port}/api/v4/shipments`, calls: () => [...calls] } }
    }),
    ({ server }) =>
      Effect.promise(() => {
        server.closeAllConnections()
        return new Promise<void>((resolve) => server.close(() => resolve()))
      })
  ).pipe(Effect.map(({ resource }): AnyMethodResource => resource))
