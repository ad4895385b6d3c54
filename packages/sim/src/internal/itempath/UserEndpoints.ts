/**
 * `POST /api/users/*`: ItemPath's authentication endpoints, as its
 * documentation describes them.
 *
 * - `login`: JSON `{username, password}` (`Content-Type: application/json`) →
 *   `{login: true, accessToken, refreshToken}`.
 * - `refresh`: the refresh token as bearer → `{accessToken}`.
 * - `application-token`: the refresh token as bearer → `{token}`, an
 *   application token, which never expires; only for users of type
 *   "application" (403 otherwise).
 *
 * Refused tokens get 401 with a `{msg}` saying why, worded as flask-jwt-extended
 * words it (ItemPath's JWTs carry that library's claims); refused credentials
 * get 401 with `{login: false, message}`. ItemPath's documentation shows
 * neither refusal: these are the simulator's choice. An endpoint made
 * tokenless (`setTokenlessAnswers`) still issues its tokens, and counts them,
 * but answers 200 without them: the credentials exist and nobody holds them.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Option, Schema } from "effect"
import { bearerToken } from "../BearerResource.ts"
import { receiveRequest } from "../receiveRequest.ts"
import { NO_STORE, sendJson } from "../sendJson.ts"
import type { ItemPathState, UserEndpointName } from "./ItemPathState.ts"
import type { TokenProblem } from "./SessionTokens.ts"

export const USERS_PREFIX = "/api/users/"
export const LOGIN_PATH = "/api/users/login"
export const REFRESH_PATH = "/api/users/refresh"
export const APPLICATION_TOKEN_PATH = "/api/users/application-token"

const decodeLogin = Schema.decodeUnknownOption(
  Schema.fromJsonString(Schema.Struct({ username: Schema.String, password: Schema.String }))
)

const problemMessages: Record<TokenProblem, string> = {
  missing: "Missing Authorization Header",
  unknown: "Invalid token",
  expired: "Token has expired",
  revoked: "Token has been revoked"
}

type Handler = (state: ItemPathState, req: IncomingMessage, body: string, res: ServerResponse) => void

export const handleUserRequest = (state: ItemPathState, path: string, req: IncomingMessage, res: ServerResponse): void => {
  state.counters.userRequests += 1
  receiveRequest(state, req, (body) => route(state, path, req, body, res))
}

const route = (state: ItemPathState, path: string, req: IncomingMessage, body: string, res: ServerResponse): void => {
  const handler = handlers[path]
  if (handler === undefined) return sendJson(res, 404, { message: "Not Found" })
  if (req.method !== "POST") return sendJson(res, 405, { message: "Method Not Allowed" }, { Allow: "POST" })
  handler(state, req, body, res)
}

const login: Handler = (state, req, body, res) => {
  const request = isJson(req.headers["content-type"]) ? decodeLogin(body) : Option.none()
  if (Option.isNone(request)) {
    state.counters.badRequests += 1
    return sendJson(res, 400, { message: 'Expected application/json {"username": string, "password": string}' })
  }
  const { password, username } = request.value
  if (username !== state.credentials.username || password !== state.credentials.password) {
    state.counters.loginFailures += 1
    return sendJson(res, 401, { login: false, message: "Invalid username or password" }, NO_STORE)
  }
  state.counters.logins += 1
  const accessToken = state.tokens.issue("access", state.config.accessTokenLifetimeMs)
  const refreshToken = state.tokens.issue("refresh", state.config.refreshTokenLifetimeMs)
  issued(state, res, "login", { login: true }, { accessToken, refreshToken })
}

const refresh: Handler = (state, req, _body, res) => {
  const problem = state.tokens.problem(bearerToken(req.headers.authorization), ["refresh"])
  if (problem !== undefined) {
    state.counters.refreshFailures += 1
    return unauthorized(res, problem)
  }
  state.counters.refreshes += 1
  issued(state, res, "refresh", {}, { accessToken: state.tokens.issue("access", state.config.accessTokenLifetimeMs) })
}

const applicationToken: Handler = (state, req, _body, res) => {
  const problem = state.tokens.problem(bearerToken(req.headers.authorization), ["refresh"])
  if (problem !== undefined) {
    state.counters.applicationTokenFailures += 1
    return unauthorized(res, problem)
  }
  if (state.config.userType.toLowerCase() !== "application") {
    state.counters.applicationTokenFailures += 1
    return sendJson(res, 403, { msg: 'Only users of type "application" can create application tokens' }, NO_STORE)
  }
  state.counters.applicationTokens += 1
  issued(state, res, "application-token", {}, { token: state.tokens.issue("application", undefined) })
}

/** A 200 with the tokens just issued, unless `endpoint` was made tokenless: then with `rest` alone. */
const issued = (
  state: ItemPathState,
  res: ServerResponse,
  endpoint: UserEndpointName,
  rest: Readonly<Record<string, unknown>>,
  tokens: Readonly<Record<string, string>>
): void => {
  const tokenless = state.tokenless.has(endpoint)
  if (tokenless) state.counters.tokenlessAnswers += 1
  sendJson(res, 200, tokenless ? rest : { ...rest, ...tokens }, NO_STORE)
}

// ItemPath's documentation sends the login with this header; a JSON API reads no other body.
const isJson = (contentType: string | undefined): boolean =>
  contentType?.toLowerCase().split(";")[0]?.trim() === "application/json"

const handlers: Readonly<Record<string, Handler>> = {
  [LOGIN_PATH]: login,
  [REFRESH_PATH]: refresh,
  [APPLICATION_TOKEN_PATH]: applicationToken
}

const unauthorized = (res: ServerResponse, problem: TokenProblem): void =>
  sendJson(res, 401, { msg: problemMessages[problem] }, { ...NO_STORE, "WWW-Authenticate": "Bearer" })
