/**
 * A stand-in for an upstream's real API (`GET /api/...`) that only checks the
 * bearer token, so tests can tell live tokens from dead ones. Shared by the
 * simulators whose resource answers the same way; each passes its own idea of
 * a valid token and the counters to bump.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { sendJson } from "./sendJson.ts"

export interface ResourceCounters {
  resourceOk: number
  resourceUnauthorized: number
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it holds. */
export const bearerToken = (authorization: string | undefined): string | undefined =>
  /^bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1]

export const answerBearerResource = (
  req: IncomingMessage,
  res: ServerResponse,
  accepts: (token: string) => boolean,
  counters: ResourceCounters
): void => {
  req.resume()
  if (req.method !== "GET") return sendJson(res, 405, { message: "Method Not Allowed" }, { Allow: "GET" })
  const token = bearerToken(req.headers.authorization)
  if (token !== undefined && accepts(token)) {
    counters.resourceOk += 1
    return sendJson(res, 200, { ok: true })
  }
  counters.resourceUnauthorized += 1
  sendJson(res, 401, { message: "Unauthorized" }, { "WWW-Authenticate": "Bearer" })
}
