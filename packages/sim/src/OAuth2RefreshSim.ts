/**
 * A simulated OAuth2 server for the `refresh_token` grant, with refresh-token
 * rotation: a real HTTP server on 127.0.0.1 that redeems refresh tokens at
 * `POST /oauth2/token` and guards `GET /api/...` with the access tokens it
 * issues. A separate simulator rather than an ItemPath option, because it
 * speaks standard OAuth2 (form bodies, `error` codes) where ItemPath does not.
 *
 * Behaviour worth knowing when writing tests against it:
 * - There is no consent flow: `issueRefreshToken()` starts a token family, as
 *   a user's consent would, and returns its first refresh token (the one a
 *   provider's config holds).
 * - Rotation (`rotate`, default true): each refresh answers a new
 *   `refresh_token` and retires the presented one. Presenting a retired one
 *   again is reuse: 400 `invalid_grant`, `refreshReuseDetected` counts it and
 *   the whole family is revoked, its newest refresh token and its access
 *   tokens included (RFC 9700 §4.14.2). With `rotate: false` the reply has no
 *   `refresh_token` and the presented one stays valid.
 * - Unknown, expired and revoked refresh tokens are 400 `invalid_grant` too
 *   (RFC 6749 §5.2); wrong client credentials are 401 `invalid_client`.
 * - `timeScale` divides the lifetimes; `expires_in` still reports unscaled
 *   upstream seconds, as a real server would. Refresh tokens never expire by
 *   age unless `refreshTokenLifetimeSeconds` is set; each rotated one then gets
 *   a full lifetime. `latencyMs` is real milliseconds, not scaled.
 * - `setHang(true)` makes the token endpoint accept requests and never answer
 *   them (they count in `tokenRequests` only).
 * - There is no rate limit. It logs nothing, so secrets and tokens cannot leak
 *   into test output.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Data, type Effect, type Scope } from "effect"
import { answerBearerResource } from "./internal/BearerResource.ts"
import {
  type OAuth2RefreshSimConfig,
  resolveOAuth2RefreshSimConfig
} from "./internal/oauth2refresh/OAuth2RefreshSimConfig.ts"
import {
  makeOAuth2RefreshState,
  type OAuth2RefreshState,
  zeroOAuth2RefreshCounters
} from "./internal/oauth2refresh/OAuth2RefreshState.ts"
import { handleRefreshTokenRequest, TOKEN_PATH } from "./internal/oauth2refresh/RefreshTokenEndpoint.ts"
import { sendJson } from "./internal/sendJson.ts"
import { simControls } from "./internal/SimControls.ts"
import { simEntryPoints } from "./internal/SimEntryPoints.ts"
import { listenSimServer } from "./internal/SimServer.ts"
import type { OAuth2RefreshCounters } from "./internal/oauth2refresh/OAuth2RefreshState.ts"
import type { OAuth2RefreshSimOptions } from "./internal/oauth2refresh/OAuth2RefreshSimConfig.ts"

export type { OAuth2RefreshCounters } from "./internal/oauth2refresh/OAuth2RefreshState.ts"
export type { OAuth2RefreshSimOptions } from "./internal/oauth2refresh/OAuth2RefreshSimConfig.ts"

export interface OAuth2RefreshSim {
  /** "http://127.0.0.1:PORT" */
  readonly baseUrl: string
  readonly tokenUrl: string
  readonly resourceUrl: string
  /** Starts a new token family and returns its first refresh token. */
  issueRefreshToken(): string
  counters(): OAuth2RefreshCounters
  resetCounters(): void
  /** Revokes one refresh or access token; the rest of its family keeps working. */
  revoke(token: string): void
  /** Revokes every family started so far. */
  revokeAll(): void
  setCredentials(credentials: { readonly clientId: string; readonly clientSecret?: string }): void
  setHang(hang: boolean): void
  /** Tokens issued so far, in issue order, retired, revoked and expired ones included. */
  issuedAccessTokens(): ReadonlyArray<string>
  issuedRefreshTokens(): ReadonlyArray<string>
  close(): Promise<void>
}

export class OAuth2RefreshSimListenError extends Data.TaggedError("OAuth2RefreshSimListenError")<{
  readonly cause: unknown
}> {}

// `listen` is a lambda because listenOAuth2RefreshSim is declared further down.
const entryPoints = simEntryPoints(
  resolveOAuth2RefreshSimConfig,
  (config: OAuth2RefreshSimConfig) => listenOAuth2RefreshSim(config),
  (cause) => new OAuth2RefreshSimListenError({ cause })
)

/** Rejects with a RangeError on invalid options, or the listen error. */
export const startOAuth2RefreshSim: (options: OAuth2RefreshSimOptions) => Promise<OAuth2RefreshSim> = entryPoints.start

/**
 * Scoped variant: the server closes when the scope closes. Invalid options are
 * defects; failing to listen (e.g. port in use) is a typed error.
 */
export const acquireOAuth2RefreshSim: (
  options: OAuth2RefreshSimOptions
) => Effect.Effect<OAuth2RefreshSim, OAuth2RefreshSimListenError, Scope.Scope> = entryPoints.acquire

const listenOAuth2RefreshSim = async (config: OAuth2RefreshSimConfig): Promise<OAuth2RefreshSim> => {
  const state = makeOAuth2RefreshState(config)
  const controls = {
    ...simControls(state, zeroOAuth2RefreshCounters),
    issueRefreshToken: () => state.families.start(state.lifetimes),
    revoke: state.families.revoke,
    revokeAll: state.families.revokeAll
  }
  const server = await listenSimServer({
    port: config.port,
    admin: {
      ...controls,
      revokeField: "token",
      extraRoutes: { "POST /_sim/refresh-token": () => ({ refresh_token: controls.issueRefreshToken() }) }
    },
    route: (path, req, res) => route(state, path, req, res),
    beforeClose: state.latency.cancelAll
  })
  const { baseUrl } = server
  return {
    baseUrl,
    tokenUrl: baseUrl + TOKEN_PATH,
    resourceUrl: `${baseUrl}/api/resource`,
    ...controls,
    setCredentials: ({ clientId, clientSecret }) => void (state.client = { clientId, clientSecret }),
    issuedAccessTokens: state.families.issuedAccessTokens,
    issuedRefreshTokens: state.families.issuedRefreshTokens,
    close: server.close
  }
}

const route = (state: OAuth2RefreshState, path: string, req: IncomingMessage, res: ServerResponse): void => {
  if (path === TOKEN_PATH) return handleRefreshTokenRequest(state, req, res)
  if (path.startsWith("/api/")) {
    return answerBearerResource(req, res, state.families.isAccessTokenValid, state.counters)
  }
  req.resume()
  sendJson(res, 404, { error: "not_found" })
}
