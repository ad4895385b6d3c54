/**
 * A stand-in for an upstream's real API (`GET /api/...`) that only checks the
 * bearer token, so tests can tell live tokens from dead ones. Shared by every
 * simulator; each passes its own idea of a valid token, the counters to bump
 * and, where its upstream words errors its own way, the shape of error bodies.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { sendJson } from "./sendJson.ts"

export interface ResourceCounters {
  resourceOk: number
  resourceUnauthorized: number
}

/** The JSON body of an error answer with `status`. */
export type ErrorBody = (status: number, message: string) => object

const messageBody: ErrorBody = (_status, message) => ({ message })

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export const bearerToken = (authorization: string | undefined): string | undefined =>
  /^bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1]

export const answerBearerResource = (
  req: IncomingMessage,
  res: ServerResponse,
  accepts: (token: string) => boolean,
  counters: ResourceCounters,
  errorBody: ErrorBody = messageBody
): void => {
  req.resume()
  if (req.method !== "GET") return sendJson(res, 405, errorBody(405, "Method Not Allowed"), { Allow: "GET" })
  const token = bearerToken(req.headers.authorization)
  if (token !== undefined && accepts(token)) {
    counters.resourceOk += 1
    return sendJson(res, 200, { ok: true })
  }
  counters.resourceUnauthorized += 1
  sendJson(res, 401, errorBody(401, "Unauthorized"), { "WWW-Authenticate": "Bearer" })
}
