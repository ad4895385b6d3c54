/**
 * `POST /oauth2/token`: the standard `refresh_token` grant (RFC 6749 §6),
 * form-encoded. A confidential client authenticates with HTTP Basic or
 * `client_id`/`client_secret` form fields (never both); a public client sends
 * only `client_id`. Every refusal of the refresh token itself (unknown,
 * expired, revoked, reused) is 400 `invalid_grant`, as the RFC requires.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { clientAuthentication, type ClientAuthentication, matchesCredentials } from "../ClientAuthentication.ts"
import { readBody } from "../readBody.ts"
import { sendJson } from "../sendJson.ts"
import type { OAuth2Client, OAuth2RefreshState } from "./OAuth2RefreshState.ts"
import type { Redemption } from "./TokenFamilies.ts"

export const TOKEN_PATH = "/oauth2/token"

const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

// RFC 6749 §5.1: token responses must not be cached.
const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" }

const rejectionDescriptions: Record<Extract<Redemption, { _tag: "Rejected" }>["reason"], string> = {
  unknown: "Unknown refresh token",
  expired: "Refresh token expired",
  revoked: "Refresh token revoked"
}

export const handleRefreshTokenRequest = (state: OAuth2RefreshState, req: IncomingMessage, res: ServerResponse): void => {
  state.counters.tokenRequests += 1
  if (state.hang) {
    // Drain the body so the request is fully received, then never answer. The
    // socket is destroyed when the client gives up or the sim closes.
    req.resume()
    return
  }
  readBody(req).then(
    (body) => state.latency.delay(() => answer(state, req, body, res)),
    () => undefined // the client went away mid-body; nobody is left to answer
  )
}

const answer = (state: OAuth2RefreshState, req: IncomingMessage, body: string, res: ServerResponse): void => {
  if (req.method !== "POST") return sendJson(res, 405, { error: "method_not_allowed" }, { Allow: "POST" })
  if (!isForm(req.headers["content-type"])) {
    return badRequest(state, res, { error: "invalid_request", error_description: `Content-Type must be ${FORM_CONTENT_TYPE}` })
  }
  const form = new URLSearchParams(body)
  if (form.get("grant_type") !== "refresh_token") return badRequest(state, res, { error: "unsupported_grant_type" })
  const authentication = clientAuthentication(req.headers.authorization, form)
  if (authentication._tag === "Ambiguous") {
    return badRequest(state, res, {
      error: "invalid_request",
      error_description: "Use either HTTP Basic or client_id/client_secret in the body, not both"
    })
  }
  if (!authenticates(authentication, state.client)) {
    state.counters.invalidClient += 1
    return sendJson(res, 401, { error: "invalid_client" }, { ...NO_STORE, "WWW-Authenticate": 'Basic realm="oauth2"' })
  }
  const refreshToken = form.get("refresh_token")
  if (refreshToken === null || refreshToken.length === 0) {
    return badRequest(state, res, { error: "invalid_request", error_description: "refresh_token is required" })
  }
  redeem(state, refreshToken, res)
}

const redeem = (state: OAuth2RefreshState, refreshToken: string, res: ServerResponse): void => {
  const redemption = state.families.redeem(refreshToken, state.lifetimes, state.config.rotate)
  switch (redemption._tag) {
    case "Granted": {
      state.counters.refreshes += 1
      const rotated = redemption.refreshToken === undefined ? {} : { refresh_token: redemption.refreshToken }
      const reply = {
        access_token: redemption.accessToken,
        token_type: "Bearer",
        expires_in: state.config.accessTokenLifetimeSeconds,
        ...rotated
      }
      return sendJson(res, 200, reply, NO_STORE)
    }
    case "Rejected":
      return invalidGrant(state, res, rejectionDescriptions[redemption.reason])
    case "Reused":
      state.counters.refreshReuseDetected += 1
      return invalidGrant(state, res, "Refresh token reuse detected; the token family is revoked")
  }
}

// A public client has no secret: naming itself is all it can do.
const authenticates = (authentication: ClientAuthentication, client: OAuth2Client): boolean =>
  client.clientSecret === undefined
    ? authentication._tag === "Presented" &&
      authentication.candidates.some((candidate) => candidate.clientId === client.clientId)
    : matchesCredentials(authentication, { clientId: client.clientId, clientSecret: client.clientSecret })

const invalidGrant = (state: OAuth2RefreshState, res: ServerResponse, description: string): void => {
  state.counters.invalidGrant += 1
  sendJson(res, 400, { error: "invalid_grant", error_description: description }, NO_STORE)
}

const badRequest = (state: OAuth2RefreshState, res: ServerResponse, body: Record<string, string>): void => {
  state.counters.badRequests += 1
  sendJson(res, 400, body, NO_STORE)
}

// A missing Content-Type is tolerated: curl-style clients often omit it.
const isForm = (contentType: string | undefined): boolean =>
  contentType === undefined || contentType.toLowerCase().split(";")[0]?.trim() === FORM_CONTENT_TYPE
