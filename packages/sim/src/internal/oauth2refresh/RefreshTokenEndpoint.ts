/**
 * `POST /oauth2/token`: the standard `refresh_token` grant (RFC 6749 §6),
 * form-encoded. A confidential client authenticates with HTTP Basic or
 * `client_id`/`client_secret` form fields (never both); a public client sends
 * only `client_id`. Every refusal of the refresh token itself (unknown,
 * expired, revoked, reused) is 400 `invalid_grant`, as the RFC requires.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { type ClientAuthentication, matchesCredentials } from "../ClientAuthentication.ts"
import { parseOAuth2TokenRequest } from "../OAuth2TokenRequest.ts"
import { receiveRequest } from "../receiveRequest.ts"
import { NO_STORE, sendJson } from "../sendJson.ts"
import type { OAuth2Client, OAuth2RefreshState } from "./OAuth2RefreshState.ts"
import type { Redemption } from "./TokenFamilies.ts"

export const TOKEN_PATH = "/oauth2/token"

const rejectionDescriptions: Record<Extract<Redemption, { _tag: "Rejected" }>["reason"], string> = {
  unknown: "Unknown refresh token",
  expired: "Refresh token expired",
  revoked: "Refresh token revoked"
}

export const handleRefreshTokenRequest = (state: OAuth2RefreshState, req: IncomingMessage, res: ServerResponse): void => {
  state.counters.tokenRequests += 1
  receiveRequest(state, req, (body) => answer(state, req, body, res))
}

const answer = (state: OAuth2RefreshState, req: IncomingMessage, body: string, res: ServerResponse): void => {
  if (req.method !== "POST") return sendJson(res, 405, { error: "method_not_allowed" }, { Allow: "POST" })
  const request = parseOAuth2TokenRequest(req, body, "refresh_token")
  if (request._tag === "Malformed") return badRequest(state, res, request.error)
  if (!authenticates(request.authentication, state.client)) {
    state.counters.invalidClient += 1
    return sendJson(res, 401, { error: "invalid_client" }, { ...NO_STORE, "WWW-Authenticate": 'Basic realm="oauth2"' })
  }
  const refreshToken = request.form.get("refresh_token")
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

const badRequest = (state: OAuth2RefreshState, res: ServerResponse, body: Readonly<Record<string, string>>): void => {
  state.counters.badRequests += 1
  sendJson(res, 400, body, NO_STORE)
}
