import { it as effectIt } from "@effect/vitest"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { acquireOAuth2RefreshSim, type OAuth2RefreshSim, startOAuth2RefreshSim } from "../src/index.ts"
import { basic, type FormPost, postForm, simsClosedAfterEach, sleep, statusWithBearer } from "./SimHarness.ts"

const clientId = "acme-app"
const clientSecret = "app-s3cr3t"

const { start, started } = simsClosedAfterEach(startOAuth2RefreshSim, { clientId, clientSecret })

const requestToken = (sim: OAuth2RefreshSim, request: FormPost): Promise<Response> => postForm(sim.tokenUrl, request)

const bodyClient = { client_id: clientId, client_secret: clientSecret }

/** A refresh with client credentials in the form body. */
const refreshWith = (sim: OAuth2RefreshSim, refreshToken: string, secret = clientSecret): Promise<Response> => {
  const form = { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId, client_secret: secret }
  return requestToken(sim, { form })
}

interface Grant {
  readonly access_token: string
  readonly token_type: string
  readonly expires_in: number
  readonly refresh_token?: string
}

const refresh = async (sim: OAuth2RefreshSim, refreshToken: string): Promise<Grant> => {
  const response = await refreshWith(sim, refreshToken)
  expect(response.status).toBe(200)
  return (await response.json()) as Grant
}

const errorOf = async (response: Response): Promise<{ readonly status: number; readonly error: unknown }> => ({
  status: response.status,
  error: ((await response.json()) as { error?: unknown }).error
})

const resourceStatus = (sim: OAuth2RefreshSim, token: string): Promise<number> =>
  statusWithBearer(sim.resourceUrl, token, "GET")

describe("OAuth2RefreshSim refresh_token grant", () => {
  it("redeems a refresh token for an access token and a rotated refresh token", async () => {
    const sim = await start()
    const initial = sim.issueRefreshToken()
    const response = await refreshWith(sim, initial)
    expect(response.status).toBe(200)
    expect(response.headers.get("cache-control")).toBe("no-store")
    const grant = (await response.json()) as Grant
    expect(grant).toEqual({
      access_token: expect.stringMatching(/^at_[0-9a-f]{32}$/),
      token_type: "Bearer",
      expires_in: 3600,
      refresh_token: expect.stringMatching(/^rt_[0-9a-f]{32}$/)
    })
    expect(grant.refresh_token).not.toBe(initial)
    expect(sim.issuedRefreshTokens()).toEqual([initial, grant.refresh_token])
    expect(sim.issuedAccessTokens()).toEqual([grant.access_token])
    expect(await resourceStatus(sim, grant.access_token)).toBe(200)
    expect(sim.counters()).toMatchObject({ tokenRequests: 1, refreshes: 1, invalidGrant: 0, resourceOk: 1 })
  })

  it("accepts HTTP Basic client authentication", async () => {
    const sim = await start()
    const response = await requestToken(sim, {
      form: { grant_type: "refresh_token", refresh_token: sim.issueRefreshToken() },
      authorization: basic(clientId, clientSecret)
    })
    expect(response.status).toBe(200)
  })

  it("a public client sends only its client_id", async () => {
    const sim = await startOAuth2RefreshSim({ clientId })
    started.push(sim)
    const ok = await requestToken(sim, {
      form: { grant_type: "refresh_token", refresh_token: sim.issueRefreshToken(), client_id: clientId }
    })
    expect(ok.status).toBe(200)
    const stranger = await requestToken(sim, {
      form: { grant_type: "refresh_token", refresh_token: sim.issueRefreshToken(), client_id: "someone-else" }
    })
    expect(await errorOf(stranger)).toEqual({ status: 401, error: "invalid_client" })
  })

  it("each rotated refresh token works once, in a chain", async () => {
    const sim = await start()
    let current = sim.issueRefreshToken()
    for (let i = 0; i < 3; i++) {
      const grant = await refresh(sim, current)
      expect(grant.refresh_token).toBeDefined()
      current = grant.refresh_token!
    }
    expect(sim.counters()).toMatchObject({ refreshes: 3, invalidGrant: 0, refreshReuseDetected: 0 })
  })

  it("without rotation, the reply has no refresh_token and the same one keeps working", async () => {
    const sim = await start({ rotate: false })
    const refreshToken = sim.issueRefreshToken()
    const first = await refresh(sim, refreshToken)
    const second = await refresh(sim, refreshToken)
    expect(first.refresh_token).toBeUndefined()
    expect(second.access_token).not.toBe(first.access_token)
    expect(sim.counters()).toMatchObject({ refreshes: 2, refreshReuseDetected: 0 })
  })
})

describe("OAuth2RefreshSim reuse detection", () => {
  it("a retired refresh token presented again revokes the whole family", async () => {
    const sim = await start()
    const initial = sim.issueRefreshToken()
    const first = await refresh(sim, initial)
    const second = await refresh(sim, first.refresh_token!)

    const replay = await refreshWith(sim, initial)
    expect(replay.status).toBe(400)
    expect(await replay.json()).toEqual({
      error: "invalid_grant",
      error_description: "Refresh token reuse detected; the token family is revoked"
    })
    // The newest refresh token and every access token of the family die with it.
    expect(await errorOf(await refreshWith(sim, second.refresh_token!))).toEqual({ status: 400, error: "invalid_grant" })
    expect(await resourceStatus(sim, first.access_token)).toBe(401)
    expect(await resourceStatus(sim, second.access_token)).toBe(401)
    expect(sim.counters()).toMatchObject({ refreshes: 2, invalidGrant: 2, refreshReuseDetected: 1 })
  })

  it("other families are untouched", async () => {
    const sim = await start()
    const stolen = sim.issueRefreshToken()
    const other = await refresh(sim, sim.issueRefreshToken())
    await refresh(sim, stolen)
    expect((await refreshWith(sim, stolen)).status).toBe(400)
    expect(await resourceStatus(sim, other.access_token)).toBe(200)
    expect((await refreshWith(sim, other.refresh_token!)).status).toBe(200)
  })

  it("an unknown refresh token is invalid_grant but not reuse", async () => {
    const sim = await start()
    const response = await refreshWith(sim, "rt_nope")
    expect(await response.json()).toEqual({ error: "invalid_grant", error_description: "Unknown refresh token" })
    expect(sim.counters()).toMatchObject({ invalidGrant: 1, refreshReuseDetected: 0 })
  })
})

describe("OAuth2RefreshSim lifetimes under timeScale", () => {
  it("access tokens expire early but expires_in reports upstream seconds", async () => {
    // 3600 s / 36000 = 100 ms.
    const sim = await start({ timeScale: 36_000 })
    const grant = await refresh(sim, sim.issueRefreshToken())
    expect(grant.expires_in).toBe(3600)
    expect(await resourceStatus(sim, grant.access_token)).toBe(200)
    await sleep(150)
    expect(await resourceStatus(sim, grant.access_token)).toBe(401)
    expect(sim.counters()).toMatchObject({ resourceOk: 1, resourceUnauthorized: 1 })
  })

  it("refresh tokens expire when given a lifetime, each rotated one with a full lifetime", async () => {
    // 2 s / 10 = 200 ms per refresh token.
    const sim = await start({ timeScale: 10, refreshTokenLifetimeSeconds: 2 })
    const initial = sim.issueRefreshToken()
    await sleep(120)
    const grant = await refresh(sim, initial)
    await sleep(120)
    // 240 ms after the first was issued, 120 ms after the rotated one was.
    const next = await refresh(sim, grant.refresh_token!)
    await sleep(250)
    const expired = await refreshWith(sim, next.refresh_token!)
    expect(await expired.json()).toEqual({ error: "invalid_grant", error_description: "Refresh token expired" })
  })
})

describe("OAuth2RefreshSim client authentication and malformed requests", () => {
  it("a wrong secret is 401 invalid_client and does not spend the refresh token", async () => {
    const sim = await start()
    const refreshToken = sim.issueRefreshToken()
    expect(await errorOf(await refreshWith(sim, refreshToken, "wrong"))).toEqual({ status: 401, error: "invalid_client" })
    expect((await refreshWith(sim, refreshToken)).status).toBe(200)
    expect(sim.counters()).toMatchObject({ tokenRequests: 2, invalidClient: 1, refreshes: 1 })
  })

  it("Basic and body credentials together are 400 invalid_request", async () => {
    const sim = await start()
    const response = await requestToken(sim, {
      form: { grant_type: "refresh_token", refresh_token: sim.issueRefreshToken(), ...bodyClient },
      authorization: basic(clientId, clientSecret)
    })
    expect(await errorOf(response)).toEqual({ status: 400, error: "invalid_request" })
  })

  it("another grant type, or no refresh_token, is a 400", async () => {
    const sim = await start()
    const wrongGrant = await requestToken(sim, { form: { grant_type: "client_credentials", ...bodyClient } })
    expect(await errorOf(wrongGrant)).toEqual({ status: 400, error: "unsupported_grant_type" })
    const missing = await requestToken(sim, { form: { grant_type: "refresh_token", ...bodyClient } })
    expect(await errorOf(missing)).toEqual({ status: 400, error: "invalid_request" })
    expect(sim.counters()).toMatchObject({ badRequests: 2, invalidGrant: 0 })
  })

  it("setCredentials changes the client secret it expects", async () => {
    const sim = await start()
    sim.setCredentials({ clientId, clientSecret: "rotated" })
    expect((await refreshWith(sim, sim.issueRefreshToken())).status).toBe(401)
    expect((await refreshWith(sim, sim.issueRefreshToken(), "rotated")).status).toBe(200)
  })
})

describe("OAuth2RefreshSim controls", () => {
  it("revoke stops one token; revokeAll every family", async () => {
    const sim = await start()
    const grant = await refresh(sim, sim.issueRefreshToken())
    const other = await refresh(sim, sim.issueRefreshToken())
    sim.revoke(grant.access_token)
    expect(await resourceStatus(sim, grant.access_token)).toBe(401)
    expect(await errorOf(await refreshWith(sim, grant.refresh_token!))).toEqual({ status: 200, error: undefined })
    sim.revokeAll()
    expect(await resourceStatus(sim, other.access_token)).toBe(401)
    expect((await refreshWith(sim, other.refresh_token!)).status).toBe(400)
    // A family started afterwards works.
    expect((await refreshWith(sim, sim.issueRefreshToken())).status).toBe(200)
  })

  it("setHang(true) accepts token requests and never answers them", async () => {
    const sim = await start()
    sim.setHang(true)
    const refreshToken = sim.issueRefreshToken()
    const form = { grant_type: "refresh_token", refresh_token: refreshToken, ...bodyClient }
    await expect(requestToken(sim, { form, signal: AbortSignal.timeout(200) })).rejects.toThrow()
    expect(sim.counters()).toMatchObject({ tokenRequests: 1, refreshes: 0 })
    sim.setHang(false)
    // The hung request never reached the grant: the token is still unspent.
    expect((await refreshWith(sim, refreshToken)).status).toBe(200)
  })

  it("the admin endpoints issue refresh tokens, show counters and revoke", async () => {
    const sim = await start()
    const issued = (await (await fetch(`${sim.baseUrl}/_sim/refresh-token`, { method: "POST" })).json()) as {
      refresh_token: string
    }
    const grant = await refresh(sim, issued.refresh_token)
    expect(await (await fetch(`${sim.baseUrl}/_sim/counters`)).json()).toMatchObject({ refreshes: 1 })
    const body = JSON.stringify({ token: grant.access_token })
    const revoke = await fetch(`${sim.baseUrl}/_sim/revoke`, { method: "POST", body })
    expect(revoke.status).toBe(200)
    expect(await resourceStatus(sim, grant.access_token)).toBe(401)
    expect((await fetch(`${sim.baseUrl}/_sim/revoke-all`, { method: "POST" })).status).toBe(200)
    expect((await refreshWith(sim, grant.refresh_token!)).status).toBe(400)
    expect((await fetch(`${sim.baseUrl}/_sim/nope`)).status).toBe(404)
  })

  it("rejects nonsensical options with a RangeError", async () => {
    await expect(startOAuth2RefreshSim({ clientId: "" })).rejects.toThrow(RangeError)
    await expect(startOAuth2RefreshSim({ clientId, clientSecret: "" })).rejects.toThrow(RangeError)
    await expect(startOAuth2RefreshSim({ clientId, refreshTokenLifetimeSeconds: 0 })).rejects.toThrow(RangeError)
  })
})

describe("acquireOAuth2RefreshSim", () => {
  effectIt.live("serves within the scope and closes with it", () =>
    Effect.gen(function*() {
      const baseUrl = yield* Effect.scoped(
        Effect.gen(function*() {
          const sim = yield* acquireOAuth2RefreshSim({ clientId, clientSecret })
          const response = yield* Effect.promise(() => refreshWith(sim, sim.issueRefreshToken()))
          expect(response.status).toBe(200)
          return sim.baseUrl
        })
      )
      const after = yield* Effect.promise(() => fetch(`${baseUrl}/_sim/counters`).then(() => "answered", () => "closed"))
      expect(after).toBe("closed")
    }))
})
