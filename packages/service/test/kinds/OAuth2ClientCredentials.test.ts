import { describe, expect, it } from "@effect/vitest"
import { defaultRateLimit, defaultRetryPolicy } from "@tokenbus/core"
import { acquireProject44Sim, type Project44Sim } from "@tokenbus/sim"
import { Effect, Exit, Redacted } from "effect"
import { kindNamed } from "../../src/kinds/ProviderKinds.ts"
import { OAuth2ClientCredentials } from "../../src/kinds/oauth2-client-credentials/OAuth2ClientCredentials.ts"
import type { ResolvedClientCredentialsConfig } from "../../src/kinds/oauth2-client-credentials/OAuth2ClientCredentials.ts"
import type { MintPolicy } from "../../src/config/MintPolicy.ts"
import { answerJson, localServer, recordingServer, unusedUrl } from "../support/LocalServer.ts"
import { overFetch } from "../support/MinterOver.ts"
import { basicCredentials, resourceStatus, upstreamErrorCheck } from "../support/UpstreamChecks.ts"

const clientId = "acme-client"
const clientSecret = "s3cr3t-Zq9+/&=%"

const sim = (options: { readonly latencyMs?: number } = {}) => acquireProject44Sim({ clientId, clientSecret, ...options })

type ClientCredentialsProvider = ResolvedClientCredentialsConfig & MintPolicy

const providerFor = (
  tokenUrl: string,
  overrides: Partial<Omit<ClientCredentialsProvider, "scope"> & { readonly scope: string }> = {}
): ClientCredentialsProvider => ({
  id: "project44-test",
  rateLimit: defaultRateLimit,
  retry: defaultRetryPolicy,
  circuitBreaker: { freshTokenMillis: 5_000 },
  kind: "oauth2-client-credentials",
  tokenUrl,
  clientId,
  clientSecret: Redacted.make(clientSecret),
  clientAuth: "basic",
  timeoutMillis: 2_000,
  ...overrides
})

/** The kind's minter, calling out through fetch as a replica's does. */
const minterFor = (provider: ClientCredentialsProvider) => overFetch(OAuth2ClientCredentials.minter(provider))

const mintFrom = (provider: ClientCredentialsProvider) => minterFor(provider).mint({ carry: undefined })

const expectUpstreamError = upstreamErrorCheck("project44-test", [clientSecret])

const unusedPort = unusedUrl("/token")

const tokenCounters = (upstream: Project44Sim) => {
  const { badRequests, invalidClient, mints, rateLimited, tokenRequests } = upstream.counters()
  return { tokenRequests, mints, rateLimited, badRequests, invalidClient }
}

const noCalls: ReturnType<typeof tokenCounters> = {
  tokenRequests: 0,
  mints: 0,
  rateLimited: 0,
  badRequests: 0,
  invalidClient: 0
}

describe("OAuth2ClientCredentials against the simulated project44", () => {
  for (const clientAuth of ["basic", "body"] as const) {
    it.live(`mints a token with clientAuth "${clientAuth}"`, () =>
      Effect.gen(function*() {
        const upstream = yield* sim()
        const token = yield* mintFrom(providerFor(upstream.tokenUrl, { clientAuth }))

        expect(Redacted.isRedacted(token.accessToken)).toBe(true)
        expect(String(token.accessToken)).toBe("<redacted>")
        expect(upstream.issuedTokens()).toHaveLength(1)
        expect(Redacted.value(token.accessToken)).toBe(upstream.issuedTokens().at(-1))
        expect(token.tokenType).toBe("BEARER")
        expect(token.expiresInSeconds).toBe(43200)
        // One request, accepted: neither ambiguous (400) nor rejected (401).
        expect(tokenCounters(upstream)).toEqual({ ...noCalls, tokenRequests: 1, mints: 1 })
      }))
  }

  it.live("sends the scope and gets a working token through the registry's kind", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const kind = kindNamed("oauth2-client-credentials")
      expect(kind).toBe(OAuth2ClientCredentials)
      const minter = minterFor(
        providerFor(upstream.tokenUrl, { clientAuth: "body", scope: "shipments:read" })
      )
      const token = yield* minter.mint({ carry: undefined })
      expect(yield* resourceStatus(upstream, token)).toBe(200)
      expect(upstream.counters().resourceOk).toBe(1)
    }))

  it.live("each mint is a new token request: the same Minter can mint again", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(providerFor(upstream.tokenUrl))
      const first = yield* minter.mint({ carry: undefined })
      const second = yield* minter.mint({ carry: undefined })
      expect(Redacted.value(first.accessToken)).not.toBe(Redacted.value(second.accessToken))
      expect(upstream.issuedTokens()).toEqual([Redacted.value(first.accessToken), Redacted.value(second.accessToken)])
      expect(tokenCounters(upstream)).toMatchObject({ tokenRequests: 2, mints: 2 })
    }))

  for (const clientAuth of ["basic", "body"] as const) {
    it.live(`fails with status 401 invalid_client on a wrong secret (${clientAuth}), without the secret`, () =>
      Effect.gen(function*() {
        const upstream = yield* sim()
        upstream.setCredentials({ clientId, clientSecret: "rotated-secret" })
        const error = expectUpstreamError(
          yield* mintFrom(providerFor(upstream.tokenUrl, { clientAuth })).pipe(Effect.flip)
        )
        expect(error.status).toBe(401)
        expect(error.message).toContain("invalid_client")
        expect(error.message).not.toContain("rotated-secret")
        expect(error.retryAfterMillis).toBeUndefined()
        expect(tokenCounters(upstream)).toEqual({ ...noCalls, tokenRequests: 1, invalidClient: 1 })
      }))
  }

  it.live("fails with status 429 and retryAfterMillis once the burst is spent, without retrying", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(providerFor(upstream.tokenUrl))
      for (let i = 0; i < 6; i++) yield* minter.mint({ carry: undefined })
      expect(tokenCounters(upstream)).toMatchObject({ tokenRequests: 6, mints: 6, rateLimited: 0 })

      const error = expectUpstreamError(yield* minter.mint({ carry: undefined }).pipe(Effect.flip))
      expect(error.status).toBe(429)
      expect(error.message).toContain("429")
      expect(error.message).toContain("rate_limited")
      // 5 tokens/min: the next unit is about 12 s away; Retry-After is whole seconds.
      expect(error.retryAfterMillis).toBeGreaterThanOrEqual(1000)
      expect(error.retryAfterMillis).toBeLessThanOrEqual(12_000)
      expect(error.retryAfterMillis! % 1000).toBe(0)
      expect(tokenCounters(upstream)).toMatchObject({ tokenRequests: 7, mints: 6, rateLimited: 1 })
    }))

  it.live("gives up on a hanging upstream after timeoutMillis", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      upstream.setHang(true)
      const startedAt = Date.now()
      const error = expectUpstreamError(
        yield* mintFrom(providerFor(upstream.tokenUrl, { timeoutMillis: 300 })).pipe(Effect.flip)
      )
      const elapsed = Date.now() - startedAt
      expect(error.message).toContain("did not answer within 300 ms")
      expect(error.status).toBeUndefined()
      expect(elapsed).toBeGreaterThanOrEqual(250)
      expect(elapsed).toBeLessThan(1500)
      expect(tokenCounters(upstream)).toMatchObject({ tokenRequests: 1, mints: 0 })
    }))

  it.live("the timeout covers a slow answer too (latencyMs over timeoutMillis)", () =>
    Effect.gen(function*() {
      const upstream = yield* sim({ latencyMs: 600 })
      const error = expectUpstreamError(
        yield* mintFrom(providerFor(upstream.tokenUrl, { timeoutMillis: 200 })).pipe(Effect.flip)
      )
      expect(error.message).toContain("did not answer within 200 ms")
    }))

  it.live("a slow answer inside timeoutMillis still succeeds", () =>
    Effect.gen(function*() {
      const upstream = yield* sim({ latencyMs: 100 })
      const token = yield* mintFrom(providerFor(upstream.tokenUrl, { timeoutMillis: 2_000 }))
      expect(Redacted.value(token.accessToken)).toBe(upstream.issuedTokens().at(-1))
    }))

  it.live("fails when nothing listens on the token URL's port", () =>
    Effect.gen(function*() {
      const url = yield* unusedPort
      const error = expectUpstreamError(yield* mintFrom(providerFor(url)).pipe(Effect.flip))
      expect(error.message).toContain(`token endpoint ${url} unreachable`)
      expect(error.status).toBeUndefined()
    }))
})

describe("OAuth2ClientCredentials against unusual answers", () => {
  it.live("fails on a 200 without access_token, and does not retry", () =>
    Effect.gen(function*() {
      let requests = 0
      const server = yield* localServer((req, res) => {
        requests += 1
        answerJson(200, { token_type: "Bearer", expires_in: 3600 })(req, res)
      }, "/token")
      const error = expectUpstreamError(yield* mintFrom(providerFor(server.url)).pipe(Effect.flip))
      expect(error.message).toContain("without a usable access_token")
      expect(error.status).toBe(200)
      expect(requests).toBe(1)
    }))

  it.live("fails on a 200 with an empty access_token", () =>
    Effect.gen(function*() {
      const server = yield* localServer(answerJson(200, { access_token: "" }), "/token")
      const error = expectUpstreamError(yield* mintFrom(providerFor(server.url)).pipe(Effect.flip))
      expect(error.message).toContain("without a usable access_token")
    }))

  it.live("fails on a body that is not JSON, keeping the status", () =>
    Effect.gen(function*() {
      const server = yield* localServer((req, res) => {
        req.resume()
        res.writeHead(502, { "content-type": "text/html" })
        res.end("<html>Bad Gateway</html>")
      }, "/token")
      const error = expectUpstreamError(yield* mintFrom(providerFor(server.url)).pipe(Effect.flip))
      expect(error.status).toBe(502)
      expect(error.message).toContain("not JSON")
    }))

  it.live("defaults tokenType to Bearer and leaves expiresInSeconds undefined when not announced", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer({ access_token: "opaque-token" }, "/token")
      const token = yield* mintFrom(providerFor(server.url, { clientAuth: "body" }))
      const [seen] = server.seen
      expect(Redacted.value(token.accessToken)).toBe("opaque-token")
      expect(token.tokenType).toBe("Bearer")
      expect(token.expiresInSeconds).toBeUndefined()
      // body auth: credentials in the form only, never a Basic header.
      expect(seen?.authorization).toBeUndefined()
      const form = new URLSearchParams(seen?.body ?? "")
      expect(Object.fromEntries(form)).toEqual({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret })
    }))

  it.live("basic auth: credentials only in the Authorization header", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer({ access_token: "opaque-token", token_type: "bearer", expires_in: 60 }, "/token")
      const token = yield* mintFrom(providerFor(server.url, { clientAuth: "basic" }))
      const [seen] = server.seen
      expect(token.tokenType).toBe("bearer")
      expect(token.expiresInSeconds).toBe(60)
      expect(Object.fromEntries(new URLSearchParams(seen?.body ?? ""))).toEqual({ grant_type: "client_credentials" })
      expect(basicCredentials(seen?.authorization)).toEqual([clientId, clientSecret])
    }))

  it.live("fails once, without retrying, when the upstream drops the connection", () =>
    Effect.gen(function*() {
      let requests = 0
      const server = yield* localServer((req) => {
        requests += 1
        req.socket.destroy()
      }, "/token")
      const error = expectUpstreamError(yield* mintFrom(providerFor(server.url)).pipe(Effect.flip))
      expect(error.message).toContain(`token endpoint ${server.url} unreachable`)
      expect(error.status).toBeUndefined()
      expect(requests).toBe(1)
    }))

  it.live("aborts the HTTP request when it times out", () =>
    Effect.gen(function*() {
      let closedAt: number | undefined
      const server = yield* localServer((req) => {
        req.resume()
        // Never answer; record when the client drops the connection.
        req.socket.on("close", () => (closedAt = Date.now()))
      }, "/token")
      const startedAt = Date.now()
      const error = expectUpstreamError(
        yield* mintFrom(providerFor(server.url, { timeoutMillis: 200 })).pipe(Effect.flip)
      )
      expect(error.message).toContain("did not answer within 200 ms")
      for (let i = 0; i < 20 && closedAt === undefined; i++) yield* Effect.sleep("50 millis")
      expect(closedAt).toBeDefined()
      expect(closedAt! - startedAt).toBeLessThan(1000)
    }))

  it.live("a failed mint leaves the exit a typed failure, not a defect", () =>
    Effect.gen(function*() {
      const url = yield* unusedPort
      const exit = yield* mintFrom(providerFor(url)).pipe(Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(exit.cause.reasons.every((reason) => reason._tag === "Fail")).toBe(true)
    }))
})
