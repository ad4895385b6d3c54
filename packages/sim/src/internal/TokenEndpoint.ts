/**
 * `POST /api/v4/oauth2/token`: project44's client_credentials grant, behind a
 * gateway rate limit. The limit is checked first and every request that gets
 * an answer consumes one unit, failures included, as a real gateway counts
 * requests before it knows whether they will succeed.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { clientAuthentication, matchesCredentials } from "./ClientAuthentication.ts"
import { readBody } from "./readBody.ts"
import { sendJson } from "./sendJson.ts"
import type { SimState } from "./SimState.ts"

export const TOKEN_PATH = "/api/v4/oauth2/token"

const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

// RFC 6749 §5.1: token responses must not be cached.
const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" }

export const handleTokenRequest = (state: SimState, req: IncomingMessage, res: ServerResponse): void => {
  state.counters.tokenRequests += 1
  if (state.hang) {
    // Drain the body so the request is fully received, then never answer. The
    // socket is destroyed when the client gives up or the sim closes.
    req.resume()
    return
  }
  readBody(req).then(
    (body) => afterLatency(state, () => answer(state, req, body, res)),
    () => undefined // the client went away mid-body; nobody is left to answer
  )
}

const afterLatency = (state: SimState, run: () => void): void => {
  if (state.config.latencyMs <= 0) return run()
  const timer = setTimeout(() => {
    state.timers.delete(timer)
    run()
  }, state.config.latencyMs)
  state.timers.add(timer)
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
  if (!isForm(req.headers["content-type"])) {
    return badRequest(state, res, { error: "invalid_request", error_description: `Content-Type must be ${FORM_CONTENT_TYPE}` })
  }
  const form = new URLSearchParams(body)
  if (form.get("grant_type") !== "client_credentials") {
    return badRequest(state, res, { error: "unsupported_grant_type" })
  }
  const authentication = clientAuthentication(req.headers.authorization, form)
  if (authentication._tag === "Ambiguous") {
    return badRequest(state, res, {
      error: "invalid_request",
      error_description: "Use either HTTP Basic or client_id/client_secret in the body, not both"
    })
  }
  if (!matchesCredentials(authentication, state.credentials)) {
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

const badRequest = (state: SimState, res: ServerResponse, body: Record<string, string>): void => {
  state.counters.badRequests += 1
  sendJson(res, 400, body, NO_STORE)
}

// A missing Content-Type is tolerated: curl-style clients often omit it.
const isForm = (contentType: string | undefined): boolean =>
  contentType === undefined || contentType.toLowerCase().split(";")[0]?.trim() === FORM_CONTENT_TYPE
