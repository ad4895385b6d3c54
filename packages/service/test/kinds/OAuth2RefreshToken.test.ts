import { describe, expect, it } from "@effect/vitest"
import { acquireOAuth2RefreshSim, type OAuth2RefreshSim, type OAuth2RefreshSimOptions } from "@tokenbus/sim"
import { ConfigProvider, Effect, Exit, Redacted, Schema } from "effect"
import {
  OAuth2RefreshToken,
  OAuth2RefreshTokenConfig,
  type ResolvedOAuth2RefreshTokenConfig
} from "../../src/kinds/oauth2-refresh-token/OAuth2RefreshToken.ts"
import { recordingServer, type SeenRequest, unusedUrl } from "../support/LocalServer.ts"
import { overFetch } from "../support/MinterOver.ts"
import { basicCredentials, resourceStatus, upstreamErrorCheck } from "../support/UpstreamChecks.ts"

const clientId = "acme-app"
const clientSecret = "app-s3cr3t+/&="

const sim = (options: Partial<OAuth2RefreshSimOptions> = {}) =>
  acquireOAuth2RefreshSim({ clientId, clientSecret, ...options })

const configFor = (
  tokenUrl: string,
  refreshToken: string,
  overrides: Partial<ResolvedOAuth2RefreshTokenConfig> = {}
): ResolvedOAuth2RefreshTokenConfig => ({
  id: "refresh-test",
  kind: "oauth2-refresh-token",
  tokenUrl,
  clientId,
  clientSecret: Redacted.make(clientSecret),
  clientAuth: "basic",
  refreshToken: Redacted.make(refreshToken),
  timeoutMillis: 2_000,
  ...overrides
})

/** The kind's minter, calling out through fetch as a replica's does. */
const minterFor = (config: ResolvedOAuth2RefreshTokenConfig) => overFetch(OAuth2RefreshToken.minter(config))

/** A config whose initial refresh token starts a new family on `upstream`. */
const simConfig = (upstream: OAuth2RefreshSim, overrides: Partial<ResolvedOAuth2RefreshTokenConfig> = {}) =>
  configFor(upstream.tokenUrl, upstream.issueRefreshToken(), overrides)

/** Drops the client secret: a public client. */
const publicClient = (config: ResolvedOAuth2RefreshTokenConfig): ResolvedOAuth2RefreshTokenConfig => {
  const { clientAuth: _clientAuth, clientSecret: _clientSecret, ...rest } = config
  return rest
}

const firstMint = (config: ResolvedOAuth2RefreshTokenConfig) => minterFor(config).mint({ carry: undefined })

const tokenCounters = (upstream: OAuth2RefreshSim) => {
  const { badRequests, invalidClient, invalidGrant, refreshReuseDetected, refreshes, tokenRequests } = upstream.counters()
  return { tokenRequests, refreshes, invalidGrant, refreshReuseDetected, invalidClient, badRequests }
}

const noCalls: ReturnType<typeof tokenCounters> = {
  tokenRequests: 0,
  refreshes: 0,
  invalidGrant: 0,
  refreshReuseDetected: 0,
  invalidClient: 0,
  badRequests: 0
}

const secretsOf = (upstream: OAuth2RefreshSim): ReadonlyArray<string> => [
  clientSecret,
  ...upstream.issuedRefreshTokens(),
  ...upstream.issuedAccessTokens()
]

const expectUpstreamError = upstreamErrorCheck("refresh-test", [clientSecret])

/** What a recorded request sent: its Basic header and its form. */
const formsOf = (seen: ReadonlyArray<SeenRequest>) =>
  seen.map(({ authorization, body }) => ({ authorization, form: Object.fromEntries(new URLSearchParams(body)) }))

describe("OAuth2RefreshToken against the simulated server", () => {
  it.live("the first mint spends the configured refresh token and carries the rotated one", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const config = simConfig(upstream)
      const token = yield* minterFor(config).mint({ carry: undefined })

      expect(tokenCounters(upstream)).toEqual({ ...noCalls, tokenRequests: 1, refreshes: 1 })
      expect(Redacted.value(token.accessToken)).toBe(upstream.issuedAccessTokens()[0])
      expect(token.tokenType).toBe("Bearer")
      expect(token.expiresInSeconds).toBe(3600)
      const [initial, rotated] = upstream.issuedRefreshTokens()
      expect(String(token.carry)).toBe("<redacted>")
      expect(Redacted.value(token.carry!)).toContain(rotated)
      expect(Redacted.value(token.carry!)).not.toContain(initial)
      for (const secret of secretsOf(upstream)) expect(JSON.stringify(token)).not.toContain(secret)
      expect(yield* resourceStatus(upstream, token)).toBe(200)
    }))

  it.live("rotation is carried across mints: one call each, never a reuse", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(simConfig(upstream))
      let carry: Redacted.Redacted<string> | undefined
      for (let i = 0; i < 4; i++) {
        const token = yield* minter.mint({ carry })
        expect(yield* resourceStatus(upstream, token)).toBe(200)
        carry = token.carry
      }
      expect(tokenCounters(upstream)).toEqual({ ...noCalls, tokenRequests: 4, refreshes: 4 })
      expect(upstream.issuedRefreshTokens()).toHaveLength(5)
    }))

  it.live("a stale carry is reuse: invalid_grant, credentials-rejected, and the family is revoked", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(simConfig(upstream))
      const first = yield* minter.mint({ carry: undefined })
      const second = yield* minter.mint({ carry: first.carry })

      const error = expectUpstreamError(yield* minter.mint({ carry: first.carry }).pipe(Effect.flip), secretsOf(upstream))
      expect(error.kind).toBe("credentials-rejected")
      expect(error.status).toBe(400)
      expect(error.message).toBe(
        "token endpoint answered 400 (invalid_grant): the refresh token is spent, expired or revoked; a new grant is needed"
      )
      expect(tokenCounters(upstream)).toMatchObject({ refreshes: 2, invalidGrant: 1, refreshReuseDetected: 1 })
      // The legitimate chain dies with it.
      expect(yield* resourceStatus(upstream, second)).toBe(401)
      expectUpstreamError(yield* minter.mint({ carry: second.carry }).pipe(Effect.flip), secretsOf(upstream))
    }))

  it.live("a lost carry replays the configured refresh token: the upstream sees reuse", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(simConfig(upstream))
      yield* minter.mint({ carry: undefined })
      const error = expectUpstreamError(yield* minter.mint({ carry: undefined }).pipe(Effect.flip), secretsOf(upstream))
      expect(error.kind).toBe("credentials-rejected")
      expect(upstream.counters().refreshReuseDetected).toBe(1)
    }))

  it.live("after invalid_grant, a new refresh token in the config wins over the carry", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const revokedGrant = minterFor(simConfig(upstream))
      const first = yield* revokedGrant.mint({ carry: undefined })
      upstream.revokeAll()
      const revoked = yield* revokedGrant.mint({ carry: first.carry }).pipe(Effect.flip)
      expect(revoked.kind).toBe("credentials-rejected")

      // The operator obtains a new grant and puts its refresh token in the config.
      const minter = minterFor(simConfig(upstream))
      const second = yield* minter.mint({ carry: first.carry })
      expect(yield* resourceStatus(upstream, second)).toBe(200)
      // From then on the carry is trusted again.
      const third = yield* minter.mint({ carry: second.carry })
      expect(yield* resourceStatus(upstream, third)).toBe(200)
      expect(tokenCounters(upstream)).toMatchObject({ refreshes: 3, invalidGrant: 1, refreshReuseDetected: 0 })
    }))

  it.live("an unreadable carry falls back to the configured refresh token", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const token = yield* minterFor(simConfig(upstream)).mint({ carry: Redacted.make("[]") })
      expect(yield* resourceStatus(upstream, token)).toBe(200)
      expect(tokenCounters(upstream)).toEqual({ ...noCalls, tokenRequests: 1, refreshes: 1 })
    }))

  it.live("without rotation the same refresh token stays in the carry and keeps working", () =>
    Effect.gen(function*() {
      const upstream = yield* sim({ rotate: false })
      const config = simConfig(upstream)
      const minter = minterFor(config)
      const first = yield* minter.mint({ carry: undefined })
      const second = yield* minter.mint({ carry: first.carry })
      expect(Redacted.value(first.carry!)).toContain(Redacted.value(config.refreshToken))
      expect(Redacted.value(second.carry!)).toBe(Redacted.value(first.carry!))
      expect(tokenCounters(upstream)).toEqual({ ...noCalls, tokenRequests: 2, refreshes: 2 })
    }))

  it.live("body client auth and public clients work too", () =>
    Effect.gen(function*() {
      const confidential = yield* sim()
      yield* firstMint(simConfig(confidential, { clientAuth: "body" }))
      expect(confidential.counters().refreshes).toBe(1)

      const publicServer = yield* acquireOAuth2RefreshSim({ clientId })
      yield* firstMint(publicClient(simConfig(publicServer)))
      expect(publicServer.counters().refreshes).toBe(1)
    }))

  it.live("a wrong client secret is credentials-rejected, without the secret, and spends nothing", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      upstream.setCredentials({ clientId, clientSecret: "rotated-secret" })
      const config = simConfig(upstream)
      const error = expectUpstreamError(
        yield* firstMint(config).pipe(Effect.flip),
        [...secretsOf(upstream), "rotated-secret"]
      )
      expect(error).toMatchObject({
        kind: "credentials-rejected",
        status: 401,
        message: "token endpoint answered 401 (invalid_client)"
      })
      upstream.setCredentials({ clientId, clientSecret })
      yield* minterFor(config).mint({ carry: undefined })
    }))

  // Not retried: the upstream may have rotated the refresh token before the answer was lost.
  it.live("a hanging upstream is refused, not retried, after timeoutMillis", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      upstream.setHang(true)
      const error = expectUpstreamError(
        yield* firstMint(simConfig(upstream, { timeoutMillis: 300 })).pipe(Effect.flip),
        secretsOf(upstream)
      )
      expect(error).toMatchObject({ kind: "refused", message: "token endpoint did not answer within 300 ms" })
    }))
})

describe("OAuth2RefreshToken requests and replies", () => {
  const localConfig = (url: string, overrides: Partial<ResolvedOAuth2RefreshTokenConfig> = {}) =>
    configFor(url, "rt-initial", overrides)

  it.live("basic auth: credentials in the header, the grant and scope in the form", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer({ access_token: "at-1", refresh_token: "rt-2" }, "/token")
      yield* firstMint(localConfig(server.url, { scope: "read" }))
      const [request] = formsOf(server.seen)
      expect(request?.form).toEqual({ grant_type: "refresh_token", refresh_token: "rt-initial", scope: "read" })
      expect(basicCredentials(request?.authorization)).toEqual([clientId, clientSecret])
    }))

  it.live("body auth: credentials in the form only; a public client sends only its id", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer({ access_token: "at-1" }, "/token")
      yield* firstMint(localConfig(server.url, { clientAuth: "body" }))
      yield* firstMint(publicClient(localConfig(server.url)))
      const grant = { grant_type: "refresh_token", refresh_token: "rt-initial", client_id: clientId }
      expect(formsOf(server.seen)).toEqual([
        { authorization: undefined, form: { ...grant, client_secret: clientSecret } },
        { authorization: undefined, form: grant }
      ])
    }))

  it.live("a reply without refresh_token keeps the spent one in the carry; no expires_in is undefined", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer({ access_token: "at-1" }, "/token")
      const token = yield* firstMint(localConfig(server.url))
      expect(token.expiresInSeconds).toBeUndefined()
      expect(Redacted.value(token.carry!)).toContain("rt-initial")
    }))

  it.live("a 200 without access_token is refused", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer({ refresh_token: "rt-2" }, "/token")
      const error = yield* firstMint(localConfig(server.url)).pipe(Effect.flip)
      expect(expectUpstreamError(error, ["rt-2", "rt-initial", clientSecret])).toMatchObject({
        kind: "refused",
        message: "token endpoint answered 200 without a usable access_token"
      })
    }))
})

describe("OAuth2RefreshTokenConfig", () => {
  const decode = Schema.decodeUnknownExit(OAuth2RefreshTokenConfig)
  const base = {
    id: "refresh",
    kind: "oauth2-refresh-token",
    tokenUrl: "https://auth.example.com/oauth2/token",
    clientId,
    refreshToken: { env: "INITIAL_REFRESH_TOKEN" }
  }

  it("takes clientAuth with clientSecret and neither for a public client", () => {
    expect(Exit.isSuccess(decode({ ...base, clientSecret: { env: "S" }, clientAuth: "basic" }))).toBe(true)
    const publicClient = decode(base)
    expect(Exit.isSuccess(publicClient) && publicClient.value).toEqual({ ...base, timeoutMillis: 10_000 })
  })

  it("rejects a clientSecret without clientAuth and the reverse", () => {
    expect(Exit.isFailure(decode({ ...base, clientSecret: { env: "S" } }))).toBe(true)
    expect(Exit.isFailure(decode({ ...base, clientAuth: "body" }))).toBe(true)
  })

  it.effect("resolve reads both secrets, redacted", () =>
    Effect.gen(function*() {
      const config = yield* Schema.decodeUnknownEffect(OAuth2RefreshTokenConfig)({
        ...base,
        clientSecret: { env: "S" },
        clientAuth: "body"
      })
      const resolved = yield* OAuth2RefreshToken.resolve(config, "providers[1]").pipe(
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromEnv({ env: { S: clientSecret, INITIAL_REFRESH_TOKEN: "rt-0" } })
        )
      )
      expect(Redacted.value(resolved.refreshToken)).toBe("rt-0")
      expect(resolved.clientSecret && Redacted.value(resolved.clientSecret)).toBe(clientSecret)
      const missing = yield* OAuth2RefreshToken.resolve(config, "providers[1]").pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { S: clientSecret } })),
        Effect.flip
      )
      expect(missing.message).toBe("providers[1].refreshToken: environment variable INITIAL_REFRESH_TOKEN is not set")
    }))
})

describe("OAuth2RefreshToken retry safety", () => {
  it.live("an upstream that cannot be reached at all may be retried: nothing was sent", () =>
    Effect.gen(function*() {
      const url = yield* unusedUrl("/token")
      const config = configFor(url, "rt-initial", { timeoutMillis: 2_000 })
      const error = expectUpstreamError(
        yield* firstMint(config).pipe(Effect.flip),
        ["rt-initial"]
      )
      expect(error.kind).toBe("transient")
    }))
})
