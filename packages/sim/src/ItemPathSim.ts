/**
 * A simulated ItemPath upstream for tests and the demo: a real HTTP server on
 * 127.0.0.1 that speaks ItemPath's username/password authentication and guards
 * `GET /api/...` with the tokens it issues.
 *
 * The API it plays, as ItemPath documents it:
 * - `POST /api/users/login`, JSON `{"username", "password"}` sent as
 *   `application/json` → 200 `{"login": true, "accessToken", "refreshToken"}`.
 *   Access tokens live 15 minutes, refresh tokens 30 days; like ItemPath, the
 *   answer carries no lifetime.
 * - `POST /api/users/refresh`, `Authorization: Bearer <refreshToken>` → 200
 *   `{"accessToken"}`.
 * - `POST /api/users/application-token`, the refresh token as bearer → 200
 *   `{"token"}`, an application token, which never expires. Only users of type
 *   "application" may create one (`userType`, default "application"; any other
 *   type is answered 403).
 * - `GET /api/<anything else>` → 200 with a live access or application token,
 *   401 otherwise.
 * ItemPath does not document its refusals; the simulator answers wrong
 * credentials with 401 `{"login": false, "message"}`, a missing, unknown,
 * expired or revoked refresh token with 401 `{"msg"}`, and a login that is not
 * JSON `{username, password}` with 400.
 *
 * Behaviour worth knowing when writing tests against it:
 * - `timeScale` divides both lifetimes, so with `timeScale: 900` an access
 *   token lives one real second. `latencyMs` is real milliseconds and is not
 *   scaled; it delays the `/api/users/*` answers only.
 * - Logging in never invalidates earlier tokens, and neither does
 *   `setCredentials`: a new password only affects new logins. Revoking a
 *   refresh token leaves its access tokens working until they expire.
 * - `setHang(true)` makes `/api/users/*` accept requests and never answer them
 *   (they count in `userRequests` only). Already hung requests stay hung until
 *   the client gives up or `close()` destroys their connections.
 * - `setTokenlessAnswers(["application-token"])` makes an endpoint issue its
 *   tokens as usual (they count, and are listed by `issued...Tokens()`) but
 *   answer 200 without them: what a client that cannot read the answer is left
 *   with. `counters().applicationTokens` is then the number of non-expiring
 *   credentials the upstream holds for this user, received or not.
 * - There is no rate limit (ItemPath documents none).
 * - It logs nothing, so secrets and tokens cannot leak into test output.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Data, type Effect, type Scope } from "effect"
import { acknowledged } from "./internal/AdminEndpoints.ts"
import { answerBearerResource } from "./internal/BearerResource.ts"
import { type ItemPathSimConfig, resolveItemPathSimConfig } from "./internal/itempath/ItemPathSimConfig.ts"
import {
  type ItemPathState,
  makeItemPathState,
  type UserEndpointName,
  zeroItemPathCounters
} from "./internal/itempath/ItemPathState.ts"
import {
  APPLICATION_TOKEN_PATH,
  handleUserRequest,
  LOGIN_PATH,
  REFRESH_PATH,
  USERS_PREFIX
} from "./internal/itempath/UserEndpoints.ts"
import { sendJson } from "./internal/sendJson.ts"
import { simControls } from "./internal/SimControls.ts"
import { simEntryPoints } from "./internal/SimEntryPoints.ts"
import { listenSimServer } from "./internal/SimServer.ts"
import type { ItemPathCounters } from "./internal/itempath/ItemPathState.ts"
import type { ItemPathSimOptions } from "./internal/itempath/ItemPathSimConfig.ts"

export type { ItemPathCounters, UserEndpointName } from "./internal/itempath/ItemPathState.ts"
export type { ItemPathSimOptions } from "./internal/itempath/ItemPathSimConfig.ts"

export interface ItemPathSim {
  /** "http://127.0.0.1:PORT": what a provider's `baseUrl` should be. */
  readonly baseUrl: string
  readonly loginUrl: string
  readonly refreshUrl: string
  readonly applicationTokenUrl: string
  readonly resourceUrl: string
  counters(): ItemPathCounters
  resetCounters(): void
  /** Revokes one token of any kind. */
  revoke(token: string): void
  /** Revokes every refresh token issued so far; access and application tokens keep working. */
  revokeRefreshTokens(): void
  /** Revokes every token issued so far, of every kind. */
  revokeAll(): void
  setCredentials(credentials: { readonly username: string; readonly password: string }): void
  setHang(hang: boolean): void
  /** These endpoints issue their tokens but answer 200 without them; `[]` makes every answer whole again. */
  setTokenlessAnswers(endpoints: ReadonlyArray<UserEndpointName>): void
  /** Tokens issued so far, in issue order, revoked and expired ones included. */
  issuedAccessTokens(): ReadonlyArray<string>
  issuedRefreshTokens(): ReadonlyArray<string>
  issuedApplicationTokens(): ReadonlyArray<string>
  close(): Promise<void>
}

export class ItemPathSimListenError extends Data.TaggedError("ItemPathSimListenError")<{
  readonly cause: unknown
}> {}

// `listen` is a lambda because listenItemPathSim is declared further down.
const entryPoints = simEntryPoints(
  resolveItemPathSimConfig,
  (config: ItemPathSimConfig) => listenItemPathSim(config),
  (cause) => new ItemPathSimListenError({ cause })
)

/** Rejects with a RangeError on invalid options, or the listen error. */
export const startItemPathSim: (options: ItemPathSimOptions) => Promise<ItemPathSim> = entryPoints.start

/**
 * Scoped variant: the server closes when the scope closes. Invalid options are
 * defects; failing to listen (e.g. port in use) is a typed error.
 */
export const acquireItemPathSim: (
  options: ItemPathSimOptions
) => Effect.Effect<ItemPathSim, ItemPathSimListenError, Scope.Scope> = entryPoints.acquire

const listenItemPathSim = async (config: ItemPathSimConfig): Promise<ItemPathSim> => {
  const state = makeItemPathState(config)
  const controls = {
    ...simControls(state, zeroItemPathCounters),
    revoke: state.tokens.revoke,
    revokeRefreshTokens: () => state.tokens.revokeKind("refresh"),
    revokeAll: state.tokens.revokeAll
  }
  const server = await listenSimServer({
    port: config.port,
    admin: {
      ...controls,
      revokeField: "token",
      extraRoutes: { "POST /_sim/revoke-refresh-tokens": acknowledged(controls.revokeRefreshTokens) }
    },
    route: (path, req, res) => route(state, path, req, res),
    beforeClose: state.latency.cancelAll
  })
  const { baseUrl } = server
  return {
    baseUrl,
    loginUrl: baseUrl + LOGIN_PATH,
    refreshUrl: baseUrl + REFRESH_PATH,
    applicationTokenUrl: baseUrl + APPLICATION_TOKEN_PATH,
    resourceUrl: `${baseUrl}/api/orders`,
    ...controls,
    setCredentials: ({ password, username }) => void (state.credentials = { username, password }),
    setTokenlessAnswers: (endpoints) => void (state.tokenless = new Set(endpoints)),
    issuedAccessTokens: () => state.tokens.issued("access"),
    issuedRefreshTokens: () => state.tokens.issued("refresh"),
    issuedApplicationTokens: () => state.tokens.issued("application"),
    close: server.close
  }
}

const route = (state: ItemPathState, path: string, req: IncomingMessage, res: ServerResponse): void => {
  if (path.startsWith(USERS_PREFIX)) return handleUserRequest(state, path, req, res)
  if (path.startsWith("/api/")) {
    return answerBearerResource(req, res, (token) => acceptsForApi(state, token), state.counters)
  }
  req.resume()
  sendJson(res, 404, { message: "Not Found" })
}

const acceptsForApi = (state: ItemPathState, token: string): boolean =>
  state.tokens.problem(token, ["access", "application"]) === undefined
