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
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Data, Effect, type Scope } from "effect"
import { ADMIN_PREFIX, handleAdminRequest } from "./internal/AdminEndpoints.ts"
import { handleResourceRequest } from "./internal/ProtectedResource.ts"
import { resolveSimConfig, type SimConfig } from "./internal/SimConfig.ts"
import { makeSimState, type SimState, zeroCounters } from "./internal/SimState.ts"
import { sendJson } from "./internal/sendJson.ts"
import { handleTokenRequest, TOKEN_PATH } from "./internal/TokenEndpoint.ts"

export interface Project44SimOptions {
  readonly clientId: string
  readonly clientSecret: string
  /** Default 0: a random free port. */
  readonly port?: number
  /** Default 5. */
  readonly tokensPerMinute?: number
  /** Default 6. */
  readonly burst?: number
  /** Default 43200 (12 h), in upstream seconds. */
  readonly tokenLifetimeSeconds?: number
  /** Default 1. */
  readonly timeScale?: number
  /** Default 0. Delay before the token endpoint answers. */
  readonly latencyMs?: number
}

export interface Project44Counters {
  /** Every request to the token endpoint, hung ones included. */
  readonly tokenRequests: number
  readonly mints: number
  readonly rateLimited: number
  readonly badRequests: number
  /** 401s from the token endpoint. */
  readonly invalidClient: number
  readonly resourceOk: number
  /** 401s from the protected resource. */
  readonly resourceUnauthorized: number
  /** Failures answered because of `failNext` (5xx). */
  readonly serverErrors: number
}

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

/** Rejects with a RangeError on invalid options, or the listen error. */
export const startProject44Sim = async (options: Project44SimOptions): Promise<Project44Sim> =>
  listenProject44Sim(resolveSimConfig(options))

/**
 * Scoped variant: the server closes when the scope closes. Invalid options are
 * defects; failing to listen (e.g. port in use) is a typed error.
 */
export const acquireProject44Sim = (
  options: Project44SimOptions
): Effect.Effect<Project44Sim, Project44SimListenError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => resolveSimConfig(options)).pipe(
      Effect.flatMap((config) =>
        Effect.tryPromise({
          try: () => listenProject44Sim(config),
          catch: (cause) => new Project44SimListenError({ cause })
        })
      )
    ),
    (sim) => Effect.promise(() => sim.close())
  )

const listenProject44Sim = async (config: SimConfig): Promise<Project44Sim> => {
  const state = makeSimState(config)
  const server = createServer((req, res) => route(state, req, res))
  const port = await listen(server, config.port)
  const baseUrl = `http://127.0.0.1:${port}`
  return {
    baseUrl,
    tokenUrl: baseUrl + TOKEN_PATH,
    resourceUrl: `${baseUrl}/api/v4/shipments`,
    counters: () => ({ ...state.counters }),
    resetCounters: () => void Object.assign(state.counters, zeroCounters()),
    revoke: (accessToken) => state.registry.revoke(accessToken),
    revokeAll: () => state.registry.revokeAll(),
    setCredentials: ({ clientId, clientSecret }) => void (state.credentials = { clientId, clientSecret }),
    setHang: (hang) => void (state.hang = hang),
    failNext: (count, status = 503) => void (state.failures = { remaining: count, status }),
    issuedTokens: () => state.registry.issued(),
    close: closeOnce(state, server)
  }
}

const route = (state: SimState, req: IncomingMessage, res: ServerResponse): void => {
  // Not `new URL`: a request target like "//x" would be read as a host name.
  const path = (req.url ?? "/").split("?")[0] ?? "/"
  if (path === TOKEN_PATH) return handleTokenRequest(state, req, res)
  if (path.startsWith(ADMIN_PREFIX)) return handleAdminRequest(state, path, req, res)
  if (path.startsWith("/api/v4/")) return handleResourceRequest(state, req, res)
  req.resume()
  sendJson(res, 404, { httpStatusCode: 404, errorMessage: "Not Found" })
}

const listen = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject)
      // Listening on a host and port always yields an AddressInfo.
      resolve((server.address() as AddressInfo).port)
    })
  })

// Closing must not wait for keep-alive or hung connections, so they are cut.
const closeOnce = (state: SimState, server: Server): (() => Promise<void>) => {
  let closed: Promise<void> | undefined
  return () =>
    (closed ??= new Promise<void>((resolve) => {
      for (const timer of state.timers) clearTimeout(timer)
      state.timers.clear()
      server.close(() => resolve())
      server.closeAllConnections()
    }))
}
