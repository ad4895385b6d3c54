import { it as effectIt } from "@effect/vitest"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { acquireItemPathSim, type ItemPathSim, startItemPathSim } from "../src/index.ts"
import { fetchWithBearer, simsClosedAfterEach, sleep, statusWithBearer } from "./SimHarness.ts"

const username = "wms-robot"
const password = "pa55-W0rd!"

const { start } = simsClosedAfterEach(startItemPathSim, { username, password })

const postLogin = (sim: ItemPathSim, body: unknown = { username, password }, signal?: AbortSignal): Promise<Response> =>
  fetch(sim.loginUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(signal === undefined ? {} : { signal })
  })

interface Session {
  readonly accessToken: string
  readonly refreshToken: string
}

const login = async (sim: ItemPathSim): Promise<Session> => {
  const response = await postLogin(sim)
  expect(response.status).toBe(200)
  return (await response.json()) as Session
}

// POST by default: ItemPath's users endpoints take the bearer that way.
const withBearer = (url: string, token: string | undefined, method = "POST"): Promise<Response> =>
  fetchWithBearer(url, token, method)

const resourceStatus = (sim: ItemPathSim, token: string): Promise<number> =>
  statusWithBearer(sim.resourceUrl, token, "GET")

const refreshStatus = (sim: ItemPathSim, refreshToken: string): Promise<number> =>
  statusWithBearer(sim.refreshUrl, refreshToken, "POST")

describe("ItemPathSim login", () => {
  it("answers an access and a refresh token for the right username and password", async () => {
    const sim = await start()
    const response = await postLogin(sim)
    expect(response.status).toBe(200)
    expect(response.headers.get("cache-control")).toBe("no-store")
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toEqual({
      login: true,
      accessToken: expect.stringMatching(/^ipa_[0-9a-f]{32}$/),
      refreshToken: expect.stringMatching(/^ipr_[0-9a-f]{32}$/)
    })
    expect(sim.issuedAccessTokens()).toEqual([body["accessToken"]])
    expect(sim.issuedRefreshTokens()).toEqual([body["refreshToken"]])
    expect(await resourceStatus(sim, body["accessToken"] as string)).toBe(200)
    expect(sim.counters()).toMatchObject({ userRequests: 1, logins: 1, loginFailures: 0, resourceOk: 1 })
  })

  it("refuses a wrong password or username with 401 and issues nothing", async () => {
    const sim = await start()
    for (const attempt of [{ username, password: "wrong" }, { username: "someone", password }]) {
      const response = await postLogin(sim, attempt)
      expect(response.status).toBe(401)
      expect(await response.json()).toEqual({ login: false, message: "Invalid username or password" })
    }
    expect(sim.issuedAccessTokens()).toEqual([])
    expect(sim.counters()).toMatchObject({ userRequests: 2, logins: 0, loginFailures: 2 })
  })

  it("answers 400 to a body that is not {username, password} JSON", async () => {
    const sim = await start()
    for (const body of ["not json", { username }, { username, password: 42 }]) {
      expect((await postLogin(sim, body)).status).toBe(400)
    }
    expect(sim.counters()).toMatchObject({ userRequests: 3, badRequests: 3, logins: 0, loginFailures: 0 })
  })

  it("answers 400 to the right credentials sent as anything but application/json, as the docs send them", async () => {
    const sim = await start()
    const credentials = JSON.stringify({ username, password })
    // Bytes, unlike a string, go without any Content-Type.
    const notJson = [
      { headers: { "Content-Type": "text/plain" }, body: credentials },
      { body: Buffer.from(credentials) }
    ]
    for (const init of notJson) expect((await fetch(sim.loginUrl, { method: "POST", ...init })).status).toBe(400)
    const withCharset = await fetch(sim.loginUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: JSON.stringify({ username, password })
    })
    expect(withCharset.status).toBe(200)
    expect(sim.counters()).toMatchObject({ badRequests: 2, logins: 1 })
    expect(sim.issuedRefreshTokens()).toHaveLength(1)
  })

  it("setCredentials affects new logins only: tokens issued before keep working", async () => {
    const sim = await start()
    const before = await login(sim)
    sim.setCredentials({ username, password: "rotated" })
    expect((await postLogin(sim)).status).toBe(401)
    expect((await postLogin(sim, { username, password: "rotated" })).status).toBe(200)
    expect(await resourceStatus(sim, before.accessToken)).toBe(200)
    expect(await refreshStatus(sim, before.refreshToken)).toBe(200)
  })

  it("answers 405 to a GET on a users endpoint and 404 to an unknown one", async () => {
    const sim = await start()
    expect((await fetch(sim.loginUrl)).status).toBe(405)
    expect((await fetch(`${sim.baseUrl}/api/users/nope`, { method: "POST" })).status).toBe(404)
    expect((await fetch(`${sim.baseUrl}/elsewhere`)).status).toBe(404)
  })
})

describe("ItemPathSim refresh", () => {
  it("answers a new, working access token for the refresh token", async () => {
    const sim = await start()
    const session = await login(sim)
    const response = await withBearer(sim.refreshUrl, session.refreshToken)
    expect(response.status).toBe(200)
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toEqual({ accessToken: expect.stringMatching(/^ipa_/) })
    expect(body["accessToken"]).not.toBe(session.accessToken)
    expect(await resourceStatus(sim, body["accessToken"] as string)).toBe(200)
    // Refreshing does not invalidate the previous access token.
    expect(await resourceStatus(sim, session.accessToken)).toBe(200)
    expect(sim.counters()).toMatchObject({ userRequests: 2, logins: 1, refreshes: 1, refreshFailures: 0 })
  })

  it("refuses a missing bearer, an access token and an unknown token with 401 saying why", async () => {
    const sim = await start()
    const session = await login(sim)
    const cases: Array<[string | undefined, string]> = [
      [undefined, "Missing Authorization Header"],
      [session.accessToken, "Invalid token"],
      ["ipr_0000", "Invalid token"]
    ]
    for (const [token, msg] of cases) {
      const response = await withBearer(sim.refreshUrl, token)
      expect(response.status).toBe(401)
      expect(await response.json()).toEqual({ msg })
    }
    expect(sim.counters()).toMatchObject({ refreshes: 0, refreshFailures: 3 })
  })

  it("revokeRefreshTokens stops refreshes but leaves access tokens working", async () => {
    const sim = await start()
    const session = await login(sim)
    sim.revokeRefreshTokens()
    const response = await withBearer(sim.refreshUrl, session.refreshToken)
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ msg: "Token has been revoked" })
    expect(await resourceStatus(sim, session.accessToken)).toBe(200)
    // A new login gets a working refresh token again.
    expect(await refreshStatus(sim, (await login(sim)).refreshToken)).toBe(200)
  })
})

describe("ItemPathSim lifetimes under timeScale", () => {
  it("an access token lives 15 upstream minutes, a refresh token 30 days", async () => {
    // 15 min / 9000 = 100 ms; 30 days / 9000 = 288 s.
    const sim = await start({ timeScale: 9000 })
    const session = await login(sim)
    expect(await resourceStatus(sim, session.accessToken)).toBe(200)
    await sleep(150)
    expect(await resourceStatus(sim, session.accessToken)).toBe(401)
    expect(await refreshStatus(sim, session.refreshToken)).toBe(200)
    expect(sim.counters()).toMatchObject({ resourceOk: 1, resourceUnauthorized: 1 })
  })

  it("honours overridden lifetimes: an expired refresh token is refused", async () => {
    const sim = await start({ timeScale: 10, accessTokenLifetimeSeconds: 60, refreshTokenLifetimeSeconds: 1 })
    const session = await login(sim)
    expect(await refreshStatus(sim, session.refreshToken)).toBe(200)
    await sleep(150)
    const response = await withBearer(sim.refreshUrl, session.refreshToken)
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ msg: "Token has expired" })
    // The access token (6 s real) outlives its refresh token here.
    expect(await resourceStatus(sim, session.accessToken)).toBe(200)
  })
})

describe("ItemPathSim application tokens", () => {
  it("answers a never-expiring application token, in the documented field `token`, for the refresh token", async () => {
    const sim = await start({ timeScale: 9000 })
    const session = await login(sim)
    const response = await withBearer(sim.applicationTokenUrl, session.refreshToken)
    expect(response.status).toBe(200)
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toEqual({ token: expect.stringMatching(/^ipx_[0-9a-f]{32}$/) })
    expect(sim.issuedApplicationTokens()).toEqual([body["token"]])
    await sleep(150)
    expect(await resourceStatus(sim, session.accessToken)).toBe(401)
    expect(await resourceStatus(sim, body["token"] as string)).toBe(200)
    expect(sim.counters()).toMatchObject({ userRequests: 2, logins: 1, applicationTokens: 1 })
  })

  it("an application token is no refresh token", async () => {
    const sim = await start()
    const application = (await (await withBearer(sim.applicationTokenUrl, (await login(sim)).refreshToken)).json()) as {
      token: string
    }
    expect(application.token).toMatch(/^ipx_/)
    expect(await refreshStatus(sim, application.token)).toBe(401)
  })

  it("grants application tokens to users of type application, however the type is capitalised", async () => {
    for (const userType of ["application", "Application"]) {
      const sim = await start({ userType })
      expect((await withBearer(sim.applicationTokenUrl, (await login(sim)).refreshToken)).status).toBe(200)
      expect(sim.counters()).toMatchObject({ applicationTokens: 1, applicationTokenFailures: 0 })
    }
  })

  it("answers 403 when the user is of another type, and 401 without a live refresh token", async () => {
    const sim = await start({ userType: "standard" })
    const session = await login(sim)
    expect((await withBearer(sim.applicationTokenUrl, session.refreshToken)).status).toBe(403)
    expect((await withBearer(sim.applicationTokenUrl, session.accessToken)).status).toBe(401)
    expect(sim.issuedApplicationTokens()).toEqual([])
    expect(sim.counters()).toMatchObject({ applicationTokens: 0, applicationTokenFailures: 2 })
  })
})

describe("ItemPathSim tokenless answers", () => {
  it("an application-token answer without its token still issues, and counts, a working one", async () => {
    const sim = await start()
    const session = await login(sim)
    sim.setTokenlessAnswers(["application-token"])
    const response = await withBearer(sim.applicationTokenUrl, session.refreshToken)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({})
    expect(sim.issuedApplicationTokens()).toHaveLength(1)
    expect(await resourceStatus(sim, sim.issuedApplicationTokens()[0]!)).toBe(200)
    expect(sim.counters()).toMatchObject({ applicationTokens: 1, tokenlessAnswers: 1 })
  })

  it("a tokenless login answers {login: true} alone, still issuing its refresh token; [] undoes it", async () => {
    const sim = await start()
    sim.setTokenlessAnswers(["login", "refresh"])
    const response = await postLogin(sim)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ login: true })
    expect(sim.issuedRefreshTokens()).toHaveLength(1)
    const refreshed = await withBearer(sim.refreshUrl, sim.issuedRefreshTokens()[0]!)
    expect(await refreshed.json()).toEqual({})
    sim.setTokenlessAnswers([])
    expect(Object.keys(await login(sim))).toEqual(["login", "accessToken", "refreshToken"])
    expect(sim.counters()).toMatchObject({ logins: 2, refreshes: 1, tokenlessAnswers: 2 })
  })
})

describe("ItemPathSim controls", () => {
  it("revoke stops one token, revokeAll every token of every kind", async () => {
    const sim = await start()
    const first = await login(sim)
    const second = await login(sim)
    const application = (await (await withBearer(sim.applicationTokenUrl, second.refreshToken)).json()) as {
      token: string
    }
    sim.revoke(first.accessToken)
    expect(await resourceStatus(sim, first.accessToken)).toBe(401)
    expect(await resourceStatus(sim, second.accessToken)).toBe(200)
    sim.revokeAll()
    expect(await resourceStatus(sim, second.accessToken)).toBe(401)
    expect(await resourceStatus(sim, application.token)).toBe(401)
    expect(await refreshStatus(sim, second.refreshToken)).toBe(401)
  })

  it("the resource answers 405 to anything but GET", async () => {
    const sim = await start()
    const session = await login(sim)
    expect((await withBearer(sim.resourceUrl, session.accessToken, "POST")).status).toBe(405)
  })

  it("resetCounters zeroes every counter", async () => {
    const sim = await start()
    await resourceStatus(sim, (await login(sim)).accessToken)
    sim.resetCounters()
    expect(Object.values(sim.counters()).every((count) => count === 0)).toBe(true)
  })

  it("setHang(true) accepts user requests and never answers them", async () => {
    const sim = await start()
    sim.setHang(true)
    await expect(postLogin(sim, { username, password }, AbortSignal.timeout(200))).rejects.toThrow()
    expect(sim.counters()).toMatchObject({ userRequests: 1, logins: 0 })
    sim.setHang(false)
    expect((await postLogin(sim)).status).toBe(200)
  })

  it("latencyMs delays the users endpoints", async () => {
    const sim = await start({ latencyMs: 150 })
    const startedAt = performance.now()
    await login(sim)
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(140)
  })

  it("close() cuts a hung request at once", async () => {
    const sim = await start()
    sim.setHang(true)
    const hung = postLogin(sim)
    await sleep(50)
    await sim.close()
    await expect(hung).rejects.toThrow()
  })

  it("the admin endpoints show counters and revoke", async () => {
    const sim = await start()
    const session = await login(sim)
    const counters = await fetch(`${sim.baseUrl}/_sim/counters`)
    expect(await counters.json()).toMatchObject({ logins: 1 })
    const revoke = await fetch(`${sim.baseUrl}/_sim/revoke`, {
      method: "POST",
      body: JSON.stringify({ token: session.accessToken })
    })
    expect(revoke.status).toBe(200)
    expect(await resourceStatus(sim, session.accessToken)).toBe(401)
    expect((await fetch(`${sim.baseUrl}/_sim/revoke-refresh-tokens`, { method: "POST" })).status).toBe(200)
    expect(await refreshStatus(sim, session.refreshToken)).toBe(401)
    const other = await login(sim)
    expect((await fetch(`${sim.baseUrl}/_sim/revoke-all`, { method: "POST" })).status).toBe(200)
    expect(await resourceStatus(sim, other.accessToken)).toBe(401)
    expect((await fetch(`${sim.baseUrl}/_sim/revoke`, { method: "POST", body: "{}" })).status).toBe(400)
    expect((await fetch(`${sim.baseUrl}/_sim/nope`)).status).toBe(404)
    // The admin calls themselves are not counted as user requests.
    expect(sim.counters().userRequests).toBe(3)
  })

  it("rejects nonsensical options with a RangeError", async () => {
    await expect(startItemPathSim({ username, password: "" })).rejects.toThrow(RangeError)
    await expect(startItemPathSim({ username, password, timeScale: 0 })).rejects.toThrow(RangeError)
    await expect(startItemPathSim({ username, password, refreshTokenLifetimeSeconds: -1 })).rejects.toThrow(RangeError)
    await expect(startItemPathSim({ username, password, userType: "" })).rejects.toThrow(RangeError)
  })
})

describe("acquireItemPathSim", () => {
  effectIt.live("serves within the scope and closes with it", () =>
    Effect.gen(function*() {
      const baseUrl = yield* Effect.scoped(
        Effect.gen(function*() {
          const sim = yield* acquireItemPathSim({ username, password })
          const response = yield* Effect.promise(() => postLogin(sim))
          expect(response.status).toBe(200)
          return sim.baseUrl
        })
      )
      const after = yield* Effect.promise(() => fetch(`${baseUrl}/_sim/counters`).then(() => "answered", () => "closed"))
      expect(after).toBe("closed")
    }))
})
