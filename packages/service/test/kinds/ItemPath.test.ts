import type { ServerResponse } from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { acquireItemPathSim, type ItemPathSim } from "@tokenbus/sim"
import { ConfigProvider, Effect, Exit, Redacted, Schema } from "effect"
import { TestClock } from "effect/testing"
import { ItemPath, ItemPathConfig, type ResolvedItemPathConfig } from "../../src/kinds/itempath/ItemPath.ts"
import type { MintedToken } from "../../src/kinds/ProviderKind.ts"
import type { UpstreamError } from "../../src/upstream/UpstreamError.ts"
import { answerJson, localServer, recordingServer } from "../support/LocalServer.ts"
import { overFetch } from "../support/MinterOver.ts"
import { resourceStatus, upstreamErrorCheck } from "../support/UpstreamChecks.ts"

const username = "wms-robot"
const password = "pa55-W0rd!&x"

const sim = (options: { readonly userType?: string; readonly latencyMs?: number } = {}) =>
  acquireItemPathSim({ username, password, ...options })

const configFor = (baseUrl: string, overrides: Partial<ResolvedItemPathConfig> = {}): ResolvedItemPathConfig => ({
  id: "itempath-test",
  kind: "itempath",
  baseUrl,
  username,
  password: Redacted.make(password),
  applicationToken: false,
  accessTokenLifetimeSeconds: 900,
  refreshTokenLifetimeSeconds: 30 * 86_400,
  refreshMarginSeconds: 86_400,
  timeoutMillis: 2_000,
  ...overrides
})

/** The kind's minter, calling out through fetch as a replica's does. */
const minterFor = (config: ResolvedItemPathConfig) => overFetch(ItemPath.minter(config))

/** Counters that move on calls to the users endpoints. */
const userCounters = (upstream: ItemPathSim) => {
  const {
    applicationTokenFailures,
    applicationTokens,
    badRequests,
    loginFailures,
    logins,
    refreshFailures,
    refreshes,
    userRequests
  } = upstream.counters()
  return {
    userRequests,
    logins,
    loginFailures,
    refreshes,
    refreshFailures,
    applicationTokens,
    applicationTokenFailures,
    badRequests
  }
}

const noCalls: ReturnType<typeof userCounters> = {
  userRequests: 0,
  logins: 0,
  loginFailures: 0,
  refreshes: 0,
  refreshFailures: 0,
  applicationTokens: 0,
  applicationTokenFailures: 0,
  badRequests: 0
}

/** Mints once and returns what the upstream saw for it alone. */
const mintCounted = (upstream: ItemPathSim, mint: Effect.Effect<MintedToken, UpstreamError>) =>
  Effect.gen(function*() {
    upstream.resetCounters()
    const token = yield* mint
    return { token, calls: userCounters(upstream) }
  })

/** Every secret the upstream knows about: none may appear in an error. */
const secretsOf = (upstream: ItemPathSim): ReadonlyArray<string> => [
  password,
  ...upstream.issuedAccessTokens(),
  ...upstream.issuedRefreshTokens(),
  ...upstream.issuedApplicationTokens()
]

const expectUpstreamError = upstreamErrorCheck("itempath-test", [password])

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

/** What a web server in front of the wrong path answers: a page, with 200. */
const html = (res: ServerResponse) => {
  res.writeHead(200, { "content-type": "text/html" })
  res.end("<html></html>")
}

/** The failure of a first mint against `baseUrl`, checked for secrets. */
const firstMintError = (baseUrl: string, overrides: Partial<ResolvedItemPathConfig> = {}) =>
  minterFor(configFor(baseUrl, overrides)).mint({ carry: undefined }).pipe(Effect.flip, Effect.map(expectUpstreamError))

describe("ItemPath access tokens", () => {
  it.live("the first mint logs in once and carries the refresh token, redacted", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl))
      const { calls, token } = yield* mintCounted(upstream, minter.mint({ carry: undefined }))

      expect(calls).toEqual({ ...noCalls, userRequests: 1, logins: 1 })
      expect(Redacted.value(token.accessToken)).toBe(upstream.issuedAccessTokens()[0])
      expect(token.tokenType).toBe("Bearer")
      expect(token.expiresInSeconds).toBe(900)
      expect(token.carry).toBeDefined()
      expect(String(token.carry)).toBe("<redacted>")
      expect(Redacted.value(token.carry!)).toContain(upstream.issuedRefreshTokens()[0])
      // Nothing secret shows when the minted token is printed or serialised.
      for (const secret of secretsOf(upstream)) expect(JSON.stringify(token)).not.toContain(secret)
      expect(yield* resourceStatus(upstream, token)).toBe(200)
    }))

  it.live("a mint with a carry costs exactly one refresh call and keeps the refresh token", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl))
      const first = yield* minter.mint({ carry: undefined })
      const second = yield* mintCounted(upstream, minter.mint({ carry: first.carry }))
      const third = yield* mintCounted(upstream, minter.mint({ carry: second.token.carry }))

      for (const { calls } of [second, third]) expect(calls).toEqual({ ...noCalls, userRequests: 1, refreshes: 1 })
      expect(upstream.issuedRefreshTokens()).toHaveLength(1)
      expect(upstream.issuedAccessTokens()).toHaveLength(3)
      expect(Redacted.value(third.token.accessToken)).toBe(upstream.issuedAccessTokens()[2])
      expect(third.token.expiresInSeconds).toBe(900)
      expect(Redacted.value(third.token.carry!)).toBe(Redacted.value(first.carry!))
      expect(yield* resourceStatus(upstream, third.token)).toBe(200)
    }))

  it.live("a refused refresh token falls back to exactly one login, whose refresh token is carried on", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl))
      const first = yield* minter.mint({ carry: undefined })
      upstream.revokeRefreshTokens()

      const second = yield* mintCounted(upstream, minter.mint({ carry: first.carry }))
      expect(second.calls).toEqual({ ...noCalls, userRequests: 2, refreshFailures: 1, logins: 1 })
      expect(yield* resourceStatus(upstream, second.token)).toBe(200)
      expect(Redacted.value(second.token.carry!)).toContain(upstream.issuedRefreshTokens()[1])

      const third = yield* mintCounted(upstream, minter.mint({ carry: second.token.carry }))
      expect(third.calls).toEqual({ ...noCalls, userRequests: 1, refreshes: 1 })
    }))

  it.live("a refused refresh token and a refused password fail as credentials-rejected after two calls", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl))
      const first = yield* minter.mint({ carry: undefined })
      upstream.revokeRefreshTokens()
      upstream.setCredentials({ username, password: "changed-by-admin" })
      upstream.resetCounters()

      const error = expectUpstreamError(yield* minter.mint({ carry: first.carry }).pipe(Effect.flip), secretsOf(upstream))
      expect(error.kind).toBe("credentials-rejected")
      expect(error.status).toBe(401)
      expect(error.message).toBe("ItemPath login answered 401")
      expect(userCounters(upstream)).toEqual({ ...noCalls, userRequests: 2, refreshFailures: 1, loginFailures: 1 })
    }))

  it.live("an unreadable carry is ignored: one login", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl))
      const { calls } = yield* mintCounted(upstream, minter.mint({ carry: Redacted.make("{not a session") }))
      expect(calls).toEqual({ ...noCalls, userRequests: 1, logins: 1 })
    }))

  it.live("a carry from another username is not refreshed: one login", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const session = yield* minterFor(configFor(upstream.baseUrl)).mint({ carry: undefined })
      upstream.setCredentials({ username: "new-user", password })
      const renamed = minterFor(configFor(upstream.baseUrl, { username: "new-user" }))
      const { calls } = yield* mintCounted(upstream, renamed.mint({ carry: session.carry }))
      expect(calls).toEqual({ ...noCalls, userRequests: 1, logins: 1 })
    }))

  it.live("a trailing slash on baseUrl is harmless", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const token = yield* minterFor(configFor(`${upstream.baseUrl}/`)).mint({ carry: undefined })
      expect(yield* resourceStatus(upstream, token)).toBe(200)
    }))
})

describe("ItemPath refresh token lifetime (TestClock)", () => {
  // The leader's clock moves, the simulator's does not: only the minter's
  // decision to refresh or log in is under test.
  const mintAfter = (days: number) =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl))
      const first = yield* minter.mint({ carry: undefined })
      yield* TestClock.adjust(`${days} days`)
      const { calls } = yield* mintCounted(upstream, minter.mint({ carry: first.carry }))
      return calls
    })

  it.effect("refreshes while more than refreshMarginSeconds is left", () =>
    Effect.gen(function*() {
      expect(yield* mintAfter(28)).toEqual({ ...noCalls, userRequests: 1, refreshes: 1 })
    }))

  it.effect("logs in instead once the refresh token is within the margin of its end", () =>
    Effect.gen(function*() {
      expect(yield* mintAfter(29)).toEqual({ ...noCalls, userRequests: 1, logins: 1 })
    }))

  it.effect("logs in without trying a refresh token past its end", () =>
    Effect.gen(function*() {
      expect(yield* mintAfter(31)).toEqual({ ...noCalls, userRequests: 1, logins: 1 })
    }))

  it.effect("the new login's refresh token gets a fresh 30 days", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl))
      const first = yield* minter.mint({ carry: undefined })
      yield* TestClock.adjust("29 days")
      const second = yield* minter.mint({ carry: first.carry })
      yield* TestClock.adjust("28 days")
      const { calls } = yield* mintCounted(upstream, minter.mint({ carry: second.carry }))
      expect(calls).toEqual({ ...noCalls, userRequests: 1, refreshes: 1 })
    }))
})

describe("ItemPath application tokens", () => {
  it.live("logs in, asks for an application token, and returns it without expiry or carry", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl, { applicationToken: true }))
      const { calls, token } = yield* mintCounted(upstream, minter.mint({ carry: undefined }))

      expect(calls).toEqual({ ...noCalls, userRequests: 2, logins: 1, applicationTokens: 1 })
      expect(Redacted.value(token.accessToken)).toBe(upstream.issuedApplicationTokens()[0])
      expect(token.expiresInSeconds).toBeUndefined()
      expect(token.tokenType).toBe("Bearer")
      expect(token.carry).toBeUndefined()
      expect(yield* resourceStatus(upstream, token)).toBe(200)
    }))

  it.live("a user that is not of type application fails as credentials-rejected", () =>
    Effect.gen(function*() {
      const upstream = yield* sim({ userType: "standard" })
      const minter = minterFor(configFor(upstream.baseUrl, { applicationToken: true }))
      const error = expectUpstreamError(yield* minter.mint({ carry: undefined }).pipe(Effect.flip), secretsOf(upstream))
      expect(error.kind).toBe("credentials-rejected")
      expect(error.status).toBe(403)
      expect(error.message).toBe("ItemPath application-token answered 403")
    }))

  it.live("a 200 that withholds the application token it issued is unusable, after exactly one", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      upstream.setTokenlessAnswers(["application-token"])
      const minter = minterFor(configFor(upstream.baseUrl, { applicationToken: true }))
      const error = expectUpstreamError(yield* minter.mint({ carry: undefined }).pipe(Effect.flip), secretsOf(upstream))
      expect(error).toMatchObject({ kind: "unusable", status: 200 })
      expect(error.message).toContain("ItemPath application-token answered 200 without a usable token")
      expect(userCounters(upstream)).toEqual({ ...noCalls, userRequests: 2, logins: 1, applicationTokens: 1 })
    }))

  it.live("an application-token 200 in any shape but the documented one is unusable", () =>
    Effect.gen(function*() {
      const login = { login: true, accessToken: "a1", refreshToken: "r1" }
      const answers: ReadonlyArray<(res: ServerResponse) => void> = [
        // The name the simulator used to invent, and one the docs never give.
        (res) => json(res, 200, { applicationToken: "app-1" }),
        (res) => json(res, 200, { token: "" }),
        (res) => html(res),
        (res) => json(res, 200, { token: "x".repeat(70_000) }),
        // A body cut off after the status, and one that stops coming: the token was issued, and lost.
        (res) => {
          res.writeHead(200, { "content-type": "application/json", "content-length": "100" })
          res.write("{\"tok", () => res.socket?.destroy())
        },
        (res) => {
          res.writeHead(200, { "content-type": "application/json", "content-length": "100" })
          res.write("{\"tok")
        }
      ]
      for (const answer of answers) {
        const server = yield* localServer((req, res) => {
          req.resume()
          if (req.url === "/api/users/login") return json(res, 200, login)
          answer(res)
        })
        const error = yield* firstMintError(server.url, { applicationToken: true, timeoutMillis: 300 })
        expect(error).toMatchObject({ kind: "unusable", status: 200 })
        expect(error.message).toContain("ItemPath application-token answered 200")
        expect(error.message).toContain("an application token, which never expires, that nobody holds")
      }
    }))

  it.live("accepts the application token under accessToken too", () =>
    Effect.gen(function*() {
      const server = yield* localServer((req, res) => {
        const isLogin = req.url === "/api/users/login"
        const body = isLogin ? { login: true, accessToken: "a1", refreshToken: "r1" } : { accessToken: "app-1" }
        answerJson(200, body)(req, res)
      })
      const token = yield* minterFor(configFor(server.url, { applicationToken: true })).mint({ carry: undefined })
      expect(Redacted.value(token.accessToken)).toBe("app-1")
    }))
})

describe("ItemPath refresh answers", () => {
  it.live("a refreshed access token is read under token too: the docs do not name its field", () =>
    Effect.gen(function*() {
      const server = yield* localServer((req, res) => {
        const isLogin = req.url === "/api/users/login"
        answerJson(200, isLogin ? { login: true, accessToken: "a1", refreshToken: "r1" } : { token: "a2" })(req, res)
      })
      const minter = minterFor(configFor(server.url))
      const first = yield* minter.mint({ carry: undefined })
      const refreshed = yield* minter.mint({ carry: first.carry })
      expect(Redacted.value(refreshed.accessToken)).toBe("a2")
      expect(refreshed.expiresInSeconds).toBe(900)
    }))
})

describe("ItemPath failures", () => {
  it.live("a wrong password is credentials-rejected after one call, without the password", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      upstream.setCredentials({ username, password: "rotated-password" })
      const error = expectUpstreamError(
        yield* minterFor(configFor(upstream.baseUrl)).mint({ carry: undefined }).pipe(Effect.flip),
        [password, "rotated-password"]
      )
      expect(error.kind).toBe("credentials-rejected")
      expect(error.status).toBe(401)
      expect(userCounters(upstream)).toEqual({ ...noCalls, userRequests: 1, loginFailures: 1 })
    }))

  it.live("a hanging upstream is transient after timeoutMillis", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      upstream.setHang(true)
      const startedAt = Date.now()
      const error = yield* firstMintError(upstream.baseUrl, { timeoutMillis: 300 })
      expect(Date.now() - startedAt).toBeLessThan(1500)
      expect(error.kind).toBe("transient")
      expect(error.message).toBe("ItemPath login did not answer within 300 ms")
      expect(error.status).toBeUndefined()
    }))

  it.live("a refresh that fails for another reason is not retried as a login", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl, { timeoutMillis: 300 }))
      const first = yield* minter.mint({ carry: undefined })
      upstream.setHang(true)
      upstream.resetCounters()
      const error = expectUpstreamError(yield* minter.mint({ carry: first.carry }).pipe(Effect.flip), secretsOf(upstream))
      expect(error.message).toBe("ItemPath refresh did not answer within 300 ms")
      expect(userCounters(upstream).userRequests).toBe(1)
    }))

  it.live("5xx is transient and 429 rate-limited with Retry-After", () =>
    Effect.gen(function*() {
      const unavailable = yield* localServer(answerJson(503, { msg: "down" }))
      const limited = yield* localServer(answerJson(429, { msg: "slow down" }, { "retry-after": "7" }))
      const down = yield* firstMintError(unavailable.url)
      expect(down).toMatchObject({ kind: "transient", status: 503, message: "ItemPath login answered 503" })
      const slow = yield* firstMintError(limited.url)
      expect(slow).toMatchObject({ kind: "rate-limited", status: 429, retryAfterMillis: 7000 })
    }))

  it.live("a login 200 without both tokens, or not JSON, is unusable: each one leaves a 30-day refresh token", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      upstream.setTokenlessAnswers(["login"])
      const withheld = expectUpstreamError(
        yield* minterFor(configFor(upstream.baseUrl)).mint({ carry: undefined }).pipe(Effect.flip),
        secretsOf(upstream)
      )
      expect(withheld).toMatchObject({ kind: "unusable", status: 200 })
      expect(withheld.message).toContain("ItemPath login answered 200 without a usable accessToken and refreshToken")
      expect(userCounters(upstream)).toEqual({ ...noCalls, userRequests: 1, logins: 1 })

      const accessOnly = yield* localServer(answerJson(200, { login: true, accessToken: "a1" }))
      expect(yield* firstMintError(accessOnly.url)).toMatchObject({ kind: "unusable", status: 200 })
      const page = yield* localServer((req, res) => (req.resume(), html(res)))
      expect(yield* firstMintError(page.url)).toMatchObject({ kind: "unusable", status: 200 })
    }))

  it.live("a login 200 whose body breaks off or stops coming is transient: the answer was lost, not wrong", () =>
    Effect.gen(function*() {
      const broken = yield* localServer((req, res) => {
        req.resume()
        res.writeHead(200, { "content-type": "application/json", "content-length": "100" })
        res.write("{\"acc", () => res.socket?.destroy())
      })
      expect(yield* firstMintError(broken.url)).toMatchObject({
        kind: "transient",
        status: 200,
        message: "ItemPath login answered 200 but its body could not be read"
      })
      const stalled = yield* localServer((req, res) => {
        req.resume()
        res.writeHead(200, { "content-type": "application/json", "content-length": "100" })
        res.write("{\"acc")
      })
      expect(yield* firstMintError(stalled.url, { timeoutMillis: 300 })).toMatchObject({
        kind: "transient",
        status: 200,
        message: "ItemPath login answered 200 but its body did not arrive within 300 ms"
      })
    }))

  it.live("a login answered 200 with login: false is credentials-rejected", () =>
    Effect.gen(function*() {
      const refusals = [
        { login: false, message: "Invalid username or password" },
        // ItemPath's word wins over tokens that come with it.
        { login: false, accessToken: "a1", refreshToken: "r1" }
      ]
      for (const body of refusals) {
        const server = yield* localServer(answerJson(200, body))
        const error = yield* firstMintError(server.url)
        expect(error).toMatchObject({ kind: "credentials-rejected", status: 200 })
        expect(error.message).toBe("ItemPath login answered 200 with login: false")
      }
    }))

  it.live("a refresh 200 without an accessToken is refused: it cost a 15-minute token, and no login follows", () =>
    Effect.gen(function*() {
      const upstream = yield* sim()
      const minter = minterFor(configFor(upstream.baseUrl))
      const first = yield* minter.mint({ carry: undefined })
      upstream.setTokenlessAnswers(["refresh"])
      upstream.resetCounters()
      const failed = yield* minter.mint({ carry: first.carry }).pipe(Effect.flip)
      const error = expectUpstreamError(failed, secretsOf(upstream))
      expect(error).toMatchObject({ kind: "refused", status: 200 })
      expect(error.message).toContain("ItemPath refresh answered 200 without a usable accessToken")
      expect(userCounters(upstream)).toEqual({ ...noCalls, userRequests: 1, refreshes: 1 })
    }))

  it.live("an unreachable upstream is transient", () =>
    Effect.gen(function*() {
      const server = yield* localServer(() => undefined)
      yield* Effect.promise(() => server.close())
      const error = yield* firstMintError(server.url)
      expect(error.kind).toBe("transient")
      expect(error.message).toContain(`ItemPath login at ${server.url}/api/users/login unreachable`)
    }))

  it.live("sends the username and password as JSON, and the refresh token only as a bearer", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer({ login: true, accessToken: "a1", refreshToken: "r1" })
      const minter = minterFor(configFor(server.url))
      const first = yield* minter.mint({ carry: undefined })
      yield* minter.mint({ carry: first.carry })
      expect(server.seen).toEqual([
        { url: "/api/users/login", authorization: undefined, body: JSON.stringify({ username, password }) },
        { url: "/api/users/refresh", authorization: "Bearer r1", body: "" }
      ])
    }))
})

describe("ItemPathConfig", () => {
  const decode = Schema.decodeUnknownExit(ItemPathConfig)
  const minimal = {
    id: "itempath",
    kind: "itempath",
    baseUrl: "https://acme.itempath.com",
    username,
    password: { env: "ITEMPATH_PASSWORD" }
  }

  it("fills in the documented defaults", () => {
    const exit = decode(minimal)
    expect(Exit.isSuccess(exit) && exit.value).toEqual({
      ...minimal,
      applicationToken: false,
      accessTokenLifetimeSeconds: 900,
      refreshTokenLifetimeSeconds: 2_592_000,
      refreshMarginSeconds: 86_400,
      timeoutMillis: 10_000
    })
  })

  it("rejects a margin as long as the refresh token's life, and a non-URL", () => {
    expect(Exit.isFailure(decode({ ...minimal, refreshMarginSeconds: 2_592_000 }))).toBe(true)
    expect(Exit.isFailure(decode({ ...minimal, baseUrl: "ftp://x" }))).toBe(true)
  })

  it.effect("resolve reads the password it refers to, redacted", () =>
    Effect.gen(function*() {
      const config = yield* Schema.decodeUnknownEffect(ItemPathConfig)(minimal)
      const resolved = yield* ItemPath.resolve(config, "providers[0]").pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { ITEMPATH_PASSWORD: password } }))
      )
      expect(Redacted.value(resolved.password)).toBe(password)
      const missing = yield* ItemPath.resolve(config, "providers[0]").pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: {} })),
        Effect.flip
      )
      expect(missing.message).toBe("providers[0].password: environment variable ITEMPATH_PASSWORD is not set")
    }))
})

