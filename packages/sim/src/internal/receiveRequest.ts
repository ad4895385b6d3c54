/**
 * How a simulator's token endpoints take a request in. A hung sim drains the
 * body, so the request counts as fully sent, and never answers: the socket is
 * destroyed when the client gives up or the sim closes. Otherwise the whole
 * body is read and the answer waits out the sim's latency.
 */
import type { IncomingMessage } from "node:http"
import type { Latency } from "./Latency.ts"
import { readBody } from "./readBody.ts"

export interface Receiving {
  readonly hang: boolean
  readonly latency: Latency
}

export const receiveRequest = (sim: Receiving, req: IncomingMessage, answer: (body: string) => void): void => {
  if (sim.hang) {
    req.resume()
    return
  }
  readBody(req).then(
    (body) => sim.latency.delay(() => answer(body)),
    () => undefined // the client went away mid-body; nobody is left to answer
  )
}
