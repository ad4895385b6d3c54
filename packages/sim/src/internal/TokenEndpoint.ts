/**
 * `POST /api/v4/oauth2/token`: project44's client_credentials grant, behind a
 * gateway rate limit. The limit is checked first and every request that gets
 * an answer consumes one unit, failures included, as a real gateway counts
 * requests before it knows whether they will succeed.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { matchesCredentials } from "./ClientAuthentication.ts"
import { parseOAuth2TokenRequest } from "./OAuth2TokenRequest.ts"
import { receiveRequest } from "./receiveRequest.ts"
import { NO_STORE, sendJson } from "./sendJson.ts"
import type { SimState } from "./SimState.ts"

export const TOKEN_PATH = "/api/v4/oauth2/token"

export const handleTokenRequest = (state: SimState, req: IncomingMessage, res: ServerResponse): void => {
  state.counters.tokenRequests += 1
  receiveRequest(state, req, (body) => answer(state, req, body, res))
}

const answer = (state: SimState, req: IncomingMessage, body: string, res: ServerResponse): void => {
  const verdict = state.bucket.take()
  if (!verdict.allowed) {
    state.counters.rateLimited += 1
    // Retry-After is real seconds: it tells a client how long to actually wait.
    const retryAfter = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))
    return sendJson(res, 429, { error: "rate_limited" }, { "Retry-After": String(retryAfter) })
  }
  if (req.method !== "POST") {
    return sendJson(res, 405, { error: "method_not_allowed" }, { Allow: "POST" })
  }
  if (state.failures.remaining > 0) {
    state.failures = { ...state.failures, remaining: state.failures.remaining - 1 }
    state.counters.serverErrors += 1
    return sendJson(res, state.failures.status, { error: "temporarily_unavailable" })
  }
  grant(state, req, body, res)
}

const grant = (state: SimState, req: IncomingMessage, body: string, res: ServerResponse): void => {
  const request = parseOAuth2TokenRequest(req, body, "client_credentials")
  if (request._tag === "Malformed") {
    state.counters.badRequests += 1
    return sendJson(res, 400, request.error, NO_STORE)
  }
  if (!matchesCredentials(request.authentication, state.credentials)) {
    state.counters.invalidClient += 1
    return sendJson(res, 401, { error: "invalid_client" }, { ...NO_STORE, "WWW-Authenticate": 'Basic realm="project44"' })
  }
  mint(state, res)
}

const mint = (state: SimState, res: ServerResponse): void => {
  state.counters.mints += 1
  const accessToken = state.registry.mint(state.config.tokenLifetimeMs)
  sendJson(
    res,
    200,
    { access_token: accessToken, token_type: "BEARER", expires_in: state.config.tokenLifetimeSeconds },
    NO_STORE
  )
}
