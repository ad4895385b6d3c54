/**
 * Any other `GET /api/v4/...` path: a stand-in for project44's real API that
 * only checks the bearer token, so tests can tell live tokens from dead ones.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { sendJson } from "./sendJson.ts"
import type { SimState } from "./SimState.ts"

export const handleResourceRequest = (state: SimState, req: IncomingMessage, res: ServerResponse): void => {
  req.resume()
  if (req.method !== "GET") {
    return sendJson(res, 405, { httpStatusCode: 405, errorMessage: "Method Not Allowed" }, { Allow: "GET" })
  }
  const token = bearerToken(req.headers.authorization)
  if (token !== undefined && state.registry.isValid(token)) {
    state.counters.resourceOk += 1
    return sendJson(res, 200, { ok: true })
  }
  state.counters.resourceUnauthorized += 1
  sendJson(res, 401, { httpStatusCode: 401, errorMessage: "Unauthorized" }, { "WWW-Authenticate": "Bearer" })
}

const bearerToken = (authorization: string | undefined): string | undefined =>
  /^bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1]
