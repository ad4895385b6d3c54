/**
 * A simulated project44 OAuth2 upstream for integration tests and the demo: a
 * real HTTP server on 127.0.0.1 that mints client_credentials tokens at
 * `POST /api/v4/oauth2/token` and guards `GET /api/v4/*` with them, with the
 * failure modes a token broker has to survive (rate limiting, revocation,
 * expiry, secret rotation, latency, a hanging upstream).
 *
 * Behaviour worth knowing when writing tests against it:
 * - Rate limit: a token bucket of `burst` units refilled at `tokensPerMinute`.
 *   Like a real gateway, every answered token-endpoint request consumes one
 *   unit, whatever its outcome (mint, 400, 401, 405). An empty bucket answers
 *   429 `{"error":"rate_limited"}` with `Retry-After` in whole real seconds (at
 *   least 1) until the next unit.
 * - `timeScale` divides the token lifetime and the refill period, so with
 *   `timeScale: 60` an upstream minute lasts one real second. `expires_in` still
 *   reports unscaled upstream seconds, as the real API would; only the actual
 *   expiry is early. `latencyMs` is real milliseconds and is not scaled.
 * - Minting never invalidates earlier tokens, and neither does
 *   `setCredentials`: rotating the secret only affects new token requests.
 * - `setHang(true)` makes the token endpoint accept requests and never answer
 *   them. Hung requests count in `tokenRequests` but do not touch the rate
 *   limit. `setHang(false)` affects only later requests: already hung ones stay
 *   hung until the client gives up or `close()` destroys their connections.
 * - `failNext(n, status)` answers the next n token requests (that pass the
 *   rate limit) with `status` (503 by default), as an upstream outage would.
 * - It logs nothing, so secrets and tokens cannot leak into test output.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Data, type Effect, type Scope } from "effect"
import { answerBearerResource, type ErrorBody } from "./internal/BearerResource.ts"
import { resolveSimConfig, type SimConfig } from "./internal/SimConfig.ts"
import { simControls } from "./internal/SimControls.ts"
import { simEntryPoints } from "./internal/SimEntryPoints.ts"
import { listenSimServer } from "./internal/SimServer.ts"
import { makeSimState, type SimState, zeroCounters } from "./internal/SimState.ts"
import { sendJson } from "./internal/sendJson.ts"
import { handleTokenRequest, TOKEN_PATH } from "./internal/TokenEndpoint.ts"
import type { Project44Counters } from "./internal/SimState.ts"
import type { Project44SimOptions } from "./internal/SimConfig.ts"

export type { Project44Counters } from "./internal/SimState.ts"
export type { Project44SimOptions } from "./internal/SimConfig.ts"

export interface Project44Sim {
  /** "http://127.0.0.1:PORT" */
  readonly baseUrl: string
  readonly tokenUrl: string
  readonly resourceUrl: string
  counters(): Project44Counters
  resetCounters(): void
  revoke(accessToken: string): void
  revokeAll(): void
  setCredentials(credentials: { readonly clientId: string; readonly clientSecret: string }): void
  setHang(hang: boolean): void
  /** The next `count` token requests (after the rate limit) fail with `status` (default 503): an upstream outage. */
  failNext(count: number, status?: number): void
  /** Every token ever minted, in issue order, revoked and expired ones included. */
  issuedTokens(): ReadonlyArray<string>
  close(): Promise<void>
}

export class Project44SimListenError extends Data.TaggedError("Project44SimListenError")<{
  readonly cause: unknown
}> {}

// `listen` is a lambda because listenProject44Sim is declared further down.
const entryPoints = simEntryPoints(
  resolveSimConfig,
  (config: SimConfig) => listenProject44Sim(config),
  (cause) => new Project44SimListenError({ cause })
)

/** Rejects with a RangeError on invalid options, or the listen error. */
export const startProject44Sim: (options: Project44SimOptions) => Promise<Project44Sim> = entryPoints.start

/**
 * Scoped variant: the server closes when the scope closes. Invalid options are
 * defects; failing to listen (e.g. port in use) is a typed error.
 */
export const acquireProject44Sim: (
  options: Project44SimOptions
) => Effect.Effect<Project44Sim, Project44SimListenError, Scope.Scope> = entryPoints.acquire

const listenProject44Sim = async (config: SimConfig): Promise<Project44Sim> => {
  const state = makeSimState(config)
  const controls = {
    ...simControls(state, zeroCounters),
    revoke: state.registry.revoke,
    revokeAll: state.registry.revokeAll
  }
  const server = await listenSimServer({
    port: config.port,
    admin: { ...controls, revokeField: "access_token" },
    route: (path, req, res) => route(state, path, req, res),
    beforeClose: state.latency.cancelAll
  })
  const { baseUrl } = server
  return {
    baseUrl,
    tokenUrl: baseUrl + TOKEN_PATH,
    resourceUrl: `${baseUrl}/api/v4/shipments`,
    ...controls,
    setCredentials: ({ clientId, clientSecret }) => void (state.credentials = { clientId, clientSecret }),
    failNext: (count, status = 503) => void (state.failures = { remaining: count, status }),
    issuedTokens: state.registry.issued,
    close: server.close
  }
}

const route = (state: SimState, path: string, req: IncomingMessage, res: ServerResponse): void => {
  if (path === TOKEN_PATH) return handleTokenRequest(state, req, res)
  if (path.startsWith("/api/v4/")) {
    return answerBearerResource(req, res, state.registry.isValid, state.counters, project44Error)
  }
  req.resume()
  sendJson(res, 404, project44Error(404, "Not Found"))
}

// project44's API words its errors this way; the token endpoint speaks OAuth2.
const project44Error: ErrorBody = (status, message) => ({ httpStatusCode: status, errorMessage: message })
