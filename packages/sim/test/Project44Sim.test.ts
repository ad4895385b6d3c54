import { assert, it as effectIt } from "@effect/vitest"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { acquireProject44Sim, type Project44Sim, startProject44Sim } from "../src/index.ts"
import { basic, fetchWithBearer, type FormPost, postForm, simsClosedAfterEach, sleep } from "./SimHarness.ts"

const clientId = "acme-client"
const clientSecret = "s3cr3t"

const { start } = simsClosedAfterEach(startProject44Sim, { clientId, clientSecret })

type TokenRequest = Partial<FormPost>

const requestToken = (sim: Project44Sim, request: TokenRequest = {}): Promise<Response> =>
  postForm(sim.tokenUrl, { form: { grant_type: "client_credentials" }, ...request })

const bodyCredentials = (secret = clientSecret) => ({
  form: { grant_type: "client_credentials", client_id: clientId, client_secret: secret }
})

const mintToken = async (sim: Project44Sim, secret = clientSecret): Promise<string> => {
  const response = await requestToken(sim, bodyCredentials(secret))
  expect(response.status).toBe(200)
  const body = (await response.json()) as { access_token: string }
  return body.access_token
}

const getResource = (sim: Project44Sim, token: string): Promise<Response> =>
  fetchWithBearer(sim.resourceUrl, token, "GET")

describe("Project44Sim token endpoint", () => {
  it("mints a token for client_id/client_secret in the form body", async () => {
    const sim = await start()
    const response = await requestToken(sim, bodyCredentials())
    expect(response.status).toBe(200)
    expect(response.headers.get("cache-control")).toBe("no-store")
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toEqual({ access_token: expect.stringMatching(/^p44_[0-9a-f]{32}$/), token_type: "BEARER", expires_in: 43200 })
    expect(sim.issuedTokens()).toEqual([body["access_token"]])
    expect(sim.counters()).toMatchObject({ tokenRequests: 1, mints: 1 })
  })

  it("mints a token for HTTP Basic client authentication", async () => {
    const sim = await start()
    const response = await requestToken(sim, { authorization: basic(clientId, clientSecret) })
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ token_type: "BEARER", expires_in: 43200 })
  })

  it("accepts a Basic header whose id and secret are form-urlencoded (RFC 6749 §2.3.1)", async () => {
    const sim = await start({ clientSecret: "a b:c%" })
    const response = await requestToken(sim, { authorization: basic(clientId, "a+b%3Ac%25") })
    expect(response.status).toBe(200)
  })

  it("rejects Basic and body credentials together with 400 invalid_request", async () => {
    const sim = await start()
    const response = await requestToken(sim, { ...bodyCredentials(), authorization: basic(clientId, clientSecret) })
    expect(response.status).toBe(400)
    const body = (await response.json()) as Record<string, unknown>
    expect(body["error"]).toBe("invalid_request")
    expect(body["error_description"]).toEqual(expect.any(String))
    expect(sim.counters()).toMatchObject({ tokenRequests: 1, badRequests: 1, mints: 0 })
  })

  it("rejects a missing or wrong grant_type with 400 unsupported_grant_type", async () => {
    const sim = await start()
    for (const form of [{ client_id: clientId, client_secret: clientSecret }, { ...bodyCredentials().form, grant_type: "password" }]) {
      const response = await requestToken(sim, { form })
      expect(response.status).toBe(400)
      expect(await response.json()).toEqual({ error: "unsupported_grant_type" })
    }
    expect(sim.counters().badRequests).toBe(2)
  })

  it("rejects a non-form content type with 400 invalid_request", async () => {
    const sim = await start()
    const response = await fetch(sim.tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret })
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: "invalid_request" })
  })

  it("rejects wrong or missing credentials with 401 invalid_client", async () => {
    const sim = await start()
    const attempts: Array<TokenRequest> = [
      bodyCredentials("wrong"),
      { authorization: basic(clientId, "wrong") },
      { authorization: basic("someone-else", clientSecret) },
      {}
    ]
    for (const attempt of attempts) {
      const response = await requestToken(sim, attempt)
      expect(response.status).toBe(401)
      expect(await response.json()).toEqual({ error: "invalid_client" })
    }
    expect(sim.counters()).toMatchObject({ tokenRequests: 4, invalidClient: 4, mints: 0 })
    expect(sim.issuedTokens()).toEqual([])
  })

  it("answers 429 with Retry-After once the burst is spent", async () => {
    const sim = await start({ burst: 3 })
    for (let i = 0; i < 3; i++) await mintToken(sim)
    const response = await requestToken(sim, bodyCredentials())
    expect(response.status).toBe(429)
    expect(await response.json()).toEqual({ error: "rate_limited" })
    // 5 per minute: the next unit is 12 s away.
    expect(response.headers.get("retry-after")).toBe("12")
    expect(sim.counters()).toMatchObject({ tokenRequests: 4, mints: 3, rateLimited: 1 })
  })

  it("charges failed requests to the rate limit too", async () => {
    const sim = await start({ burst: 2 })
    expect((await requestToken(sim, bodyCredentials("wrong"))).status).toBe(401)
    expect((await requestToken(sim, { form: { grant_type: "nope" } })).status).toBe(400)
    expect((await requestToken(sim, bodyCredentials())).status).toBe(429)
  })

  it("refills the bucket after scaled time", async () => {
    // 5 per minute at timeScale 60: one unit every 200 ms of real time.
    const sim = await start({ burst: 1, timeScale: 60 })
    await mintToken(sim)
    const limited = await requestToken(sim, bodyCredentials())
    expect(limited.status).toBe(429)
    // Retry-After is whole real seconds, rounded up to at least 1.
    expect(limited.headers.get("retry-after")).toBe("1")
    await sleep(250)
    await mintToken(sim)
    expect(sim.counters()).toMatchObject({ mints: 2, rateLimited: 1 })
  })

  it("answers after latencyMs", async () => {
    const sim = await start({ latencyMs: 200 })
    const startedAt = performance.now()
    await mintToken(sim)
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(190)
  })
})

describe("Project44Sim protected resource", () => {
  it("accepts every issued token, old ones included, and rejects others", async () => {
    const sim = await start()
    const first = await mintToken(sim)
    const second = await mintToken(sim)
    expect(first).not.toBe(second)
    expect(sim.issuedTokens()).toEqual([first, second])
    for (const token of [first, second]) {
      const response = await getResource(sim, token)
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ ok: true })
    }
    const unknown = await getResource(sim, "p44_00000000000000000000000000000000")
    expect(unknown.status).toBe(401)
    expect(await unknown.json()).toEqual({ httpStatusCode: 401, errorMessage: "Unauthorized" })
    expect((await fetch(`${sim.baseUrl}/api/v4/tracking`)).status).toBe(401)
    expect(sim.counters()).toMatchObject({ resourceOk: 2, resourceUnauthorized: 2 })
  })

  it("rejects a revoked token while others stay valid", async () => {
    const sim = await start()
    const revoked = await mintToken(sim)
    const kept = await mintToken(sim)
    sim.revoke(revoked)
    expect((await getResource(sim, revoked)).status).toBe(401)
    expect((await getResource(sim, kept)).status).toBe(200)
    expect(sim.counters()).toMatchObject({ resourceOk: 1, resourceUnauthorized: 1 })
    sim.revokeAll()
    expect((await getResource(sim, kept)).status).toBe(401)
    const fresh = await mintToken(sim)
    expect((await getResource(sim, fresh)).status).toBe(200)
    expect(sim.issuedTokens()).toEqual([revoked, kept, fresh])
  })

  it("expires tokens after the scaled lifetime while expires_in stays unscaled", async () => {
    const sim = await start({ tokenLifetimeSeconds: 60, timeScale: 100 }) // 600 ms of real time
    const response = await requestToken(sim, bodyCredentials())
    const body = (await response.json()) as { access_token: string; expires_in: number }
    expect(body.expires_in).toBe(60)
    expect((await getResource(sim, body.access_token)).status).toBe(200)
    await sleep(700)
    expect((await getResource(sim, body.access_token)).status).toBe(401)
  })
})

describe("Project44Sim controls", () => {
  it("setCredentials makes the old secret fail but keeps issued tokens valid", async () => {
    const sim = await start()
    const before = await mintToken(sim)
    sim.setCredentials({ clientId, clientSecret: "rotated" })
    expect((await requestToken(sim, bodyCredentials())).status).toBe(401)
    await mintToken(sim, "rotated")
    expect((await getResource(sim, before)).status).toBe(200)
  })

  it("resetCounters zeroes every counter", async () => {
    const sim = await start()
    await getResource(sim, await mintToken(sim))
    sim.resetCounters()
    expect(sim.counters()).toEqual({
      tokenRequests: 0,
      mints: 0,
      rateLimited: 0,
      badRequests: 0,
      invalidClient: 0,
      resourceOk: 0,
      resourceUnauthorized: 0,
      serverErrors: 0
    })
  })

  it("serves the admin endpoints", async () => {
    const sim = await start()
    const first = await mintToken(sim)
    const second = await mintToken(sim)
    const counters = await fetch(`${sim.baseUrl}/_sim/counters`)
    expect(await counters.json()).toEqual(sim.counters())

    const revoke = await fetch(`${sim.baseUrl}/_sim/revoke`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ access_token: first })
    })
    expect(revoke.status).toBe(200)
    expect((await getResource(sim, first)).status).toBe(401)
    expect((await getResource(sim, second)).status).toBe(200)

    const malformed = await fetch(`${sim.baseUrl}/_sim/revoke`, { method: "POST", body: "{}" })
    expect(malformed.status).toBe(400)

    expect((await fetch(`${sim.baseUrl}/_sim/revoke-all`, { method: "POST" })).status).toBe(200)
    expect((await getResource(sim, second)).status).toBe(401)
    // Admin traffic is invisible to the counters the tests assert on.
    expect(sim.counters()).toMatchObject({ tokenRequests: 2, resourceOk: 1, resourceUnauthorized: 2 })
  })

  it("hangs the token endpoint until reset, and close() still completes", async () => {
    const sim = await start()
    sim.setHang(true)
    const hung = requestToken(sim, { ...bodyCredentials(), signal: AbortSignal.timeout(300) })
    await expect(hung).rejects.toMatchObject({ name: "TimeoutError" })
    expect(sim.counters()).toMatchObject({ tokenRequests: 1, mints: 0 })

    sim.setHang(false)
    await mintToken(sim)

    sim.setHang(true)
    const pending = requestToken(sim, bodyCredentials()).then(
      () => "answered",
      () => "failed"
    )
    await sleep(50)
    const closing = sim.close()
    await expect(Promise.race([closing.then(() => "closed"), sleep(1000).then(() => "stuck")])).resolves.toBe("closed")
    await expect(pending).resolves.toBe("failed")
  })

  it("close() is idempotent and frees the port", async () => {
    const sim = await start()
    await mintToken(sim)
    await sim.close()
    await sim.close()
    await expect(fetch(sim.tokenUrl, { method: "POST" })).rejects.toThrow()
  })

  it("rejects nonsensical options", async () => {
    await expect(startProject44Sim({ clientId, clientSecret, burst: 0 })).rejects.toBeInstanceOf(RangeError)
    await expect(startProject44Sim({ clientId, clientSecret, timeScale: 0 })).rejects.toBeInstanceOf(RangeError)
  })

  it("listens on 127.0.0.1 only", async () => {
    const sim = await start()
    expect(sim.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(sim.tokenUrl).toBe(`${sim.baseUrl}/api/v4/oauth2/token`)
    expect(sim.resourceUrl).toBe(`${sim.baseUrl}/api/v4/shipments`)
  })
})

describe("acquireProject44Sim", () => {
  effectIt.effect("serves within the scope and closes with it", () =>
    Effect.gen(function* () {
      const tokenUrl = yield* Effect.scoped(
        Effect.gen(function* () {
          const sim = yield* acquireProject44Sim({ clientId, clientSecret })
          const token = yield* Effect.promise(() => mintToken(sim))
          assert.deepStrictEqual(sim.issuedTokens(), [token])
          return sim.tokenUrl
        })
      )
      const afterClose = yield* Effect.promise(() =>
        fetch(tokenUrl, { method: "POST" }).then(
          () => "answered",
          () => "refused"
        )
      )
      assert.strictEqual(afterClose, "refused")
    })
  )

  effectIt.effect("fails with Project44SimListenError when the port is taken", () =>
    Effect.gen(function* () {
      const sim = yield* acquireProject44Sim({ clientId, clientSecret })
      const port = Number(new URL(sim.baseUrl).port)
      const error = yield* Effect.flip(acquireProject44Sim({ clientId, clientSecret, port }))
      assert.strictEqual(error._tag, "Project44SimListenError")
    })
  )
})

describe("failNext", () => {
  it("answers the next token requests with the given status, then mints again", async () => {
    const sim = await start()
    sim.failNext(2, 503)
    const statuses: Array<number> = []
    for (let i = 0; i < 3; i++) statuses.push((await requestToken(sim, bodyCredentials())).status)
    expect(statuses).toEqual([503, 503, 200])
    expect(sim.counters()).toMatchObject({ tokenRequests: 3, serverErrors: 2, mints: 1 })
  })
})
