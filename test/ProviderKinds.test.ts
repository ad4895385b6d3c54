// Every provider kind in one deployment: three replica processes broker
// project44 (client credentials), ItemPath (login and refresh, and
// application tokens), a standard OAuth2 refresh-token grant with rotation,
// and a static token from a file, each against its own simulated upstream,
// plus a second project44 whose upstream hangs. Each claim is checked on the
// upstreams' own counters.
//
// One cluster serves the file (the last test restarts its replicas). Each
// test asks for the tokens it needs and counts upstream calls from where
// they stand when it starts, so any of them can run alone.
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { expectError, expectToken, logMsg, randomPrefix, type ReplicaProcess, requestReply } from "@tokenbus/testing"
import { startReplicas, stopAllReplicas, testStorage, waitUntil, type WireToken } from "@tokenbus/testing"
import {
  type ItemPathSim,
  type OAuth2RefreshSim,
  type Project44Sim,
  startItemPathSim,
  startOAuth2RefreshSim,
  startProject44Sim
} from "@tokenbus/sim"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { testLease } from "./support/ServiceFixture.ts"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

const secret = () => randomBytes(12).toString("hex")

/** ItemPath access tokens live 6 s here, so a renewal at about half-life comes within seconds. */
const accessTokenLifetimeSeconds = 6

interface Upstreams {
  readonly p44: Project44Sim
  readonly hanging: Project44Sim
  readonly itemPath: ItemPathSim
  readonly itemPathApp: ItemPathSim
  readonly oauth: OAuth2RefreshSim
}

describe("provider kinds side by side", () => {
  useReplicaCleanup()
  const prefix = randomPrefix()
  const dir = mkdtempSync(join(tmpdir(), "tokenbus-kinds-"))
  const staticFile = join(dir, "static-token")
  const clientSecret = secret()
  const password = secret()
  const env: Record<string, string> = { P44_SECRET: clientSecret, ITEMPATH_PASSWORD: password }
  let upstreams: Upstreams
  let config: Record<string, unknown>
  let replicas: Array<ReplicaProcess> = []
  /** Every replica this file started, the stopped ones included, for the leak check. */
  const everyReplica: Array<ReplicaProcess> = []
  let nats: NatsConnection

  const request = (verb: "get" | "unauthorized", provider: string, body: object, timeout = 15_000) =>
    requestReply(nats, `${prefix}.token.${provider}.${verb}`, JSON.stringify(body), timeout)
  const getToken = async (provider: string) => expectToken(await request("get", provider, { v: 1 }))
  const reportUnauthorized = (provider: string, version: number) => request("unauthorized", provider, { v: 1, version })
  const mintLines = (provider: string, reason?: string) =>
    everyReplica.flatMap((replica) =>
      replica.lines(logMsg("minted and committed a token", reason === undefined ? { provider } : { provider, reason }))
    )
  /** Every provider with a working upstream has its first token (the hanging one never will). */
  const firstTokens = () =>
    waitUntil(
      () => ["project44", "itempath", "itempath-app", "oauth", "static"].every((id) => mintLines(id).length >= 1),
      20_000,
      "no first tokens"
    )

  beforeAll(async () => {
    writeFileSync(staticFile, `static-${secret()}\n`)
    const oauth = await startOAuth2RefreshSim({ clientId: "tokenbus", clientSecret })
    upstreams = {
      p44: await startProject44Sim({ clientId: "p44", clientSecret }),
      hanging: await startProject44Sim({ clientId: "p44-hang", clientSecret }),
      itemPath: await startItemPathSim({ username: "tokenbus", password, accessTokenLifetimeSeconds }),
      itemPathApp: await startItemPathSim({ username: "tokenbus-app", password }),
      oauth
    }
    upstreams.hanging.setHang(true)
    const refreshToken = oauth.issueRefreshToken()
    config = {
      nats: { servers: [inject("natsUrl")] },
      prefix,
      lease: testLease,
      requestTimeoutMillis: 4000,
      storage: testStorage,
      providers: [
        {
          id: "project44",
          kind: "oauth2-client-credentials",
          tokenUrl: upstreams.p44.tokenUrl,
          clientId: "p44",
          clientSecret: { env: "P44_SECRET" },
          clientAuth: "basic"
        },
        {
          id: "project44-hanging",
          kind: "oauth2-client-credentials",
          tokenUrl: upstreams.hanging.tokenUrl,
          clientId: "p44-hang",
          clientSecret: { env: "P44_SECRET" },
          clientAuth: "body",
          timeoutMillis: 1500
        },
        {
          id: "itempath",
          kind: "itempath",
          baseUrl: upstreams.itemPath.baseUrl,
          username: "tokenbus",
          password: { env: "ITEMPATH_PASSWORD" },
          accessTokenLifetimeSeconds,
          // Renewals every few seconds: give this upstream a budget to match.
          rateLimit: { tokens: 60, windowMillis: 60_000, burst: 10 }
        },
        {
          id: "itempath-app",
          kind: "itempath",
          baseUrl: upstreams.itemPathApp.baseUrl,
          username: "tokenbus-app",
          password: { env: "ITEMPATH_PASSWORD" },
          applicationToken: true
        },
        {
          id: "oauth",
          kind: "oauth2-refresh-token",
          tokenUrl: oauth.tokenUrl,
          clientId: "tokenbus",
          clientSecret: { env: "P44_SECRET" },
          clientAuth: "basic",
          refreshToken: { env: "OAUTH_REFRESH_TOKEN" },
          // These tests report 401s on purpose seconds apart; the breaker's fresh-token rule is tested elsewhere.
          circuitBreaker: { freshTokenMillis: 0 }
        },
        { id: "static", kind: "static", token: { file: staticFile }, pollMillis: 250 }
      ]
    }
    env["OAUTH_REFRESH_TOKEN"] = refreshToken
    replicas = await startReplicas(3, config, { env, namePrefix: "kinds" })
    everyReplica.push(...replicas)
    nats = await connect({ servers: inject("natsUrl"), name: `${prefix}-test` })
  })

  afterAll(async () => {
    await stopAllReplicas()
    await nats?.close()
    await Promise.all(Object.values(upstreams ?? {}).map((upstream: { close(): Promise<void> }) => upstream.close()))
    rmSync(dir, { recursive: true, force: true })
  })

  it("gives a first token for every kind, one upstream call each", async () => {
    await firstTokens()
    const [p44, itemPath, app, oauth, fixed] = await Promise.all(
      ["project44", "itempath", "itempath-app", "oauth", "static"].map(getToken)
    )
    expect(p44?.reason).toBe("initial")
    expect(upstreams.p44.counters()).toMatchObject({ tokenRequests: 1, mints: 1 })
    expect(upstreams.itemPath.counters()).toMatchObject({ logins: 1, refreshes: 0 })
    expect(itemPath?.expiresAt).toBe((itemPath?.issuedAt ?? 0) + accessTokenLifetimeSeconds * 1000)
    expect(upstreams.itemPathApp.counters()).toMatchObject({ logins: 1, applicationTokens: 1 })
    expect(app?.expiresAt).toBeUndefined()
    expect(upstreams.oauth.counters()).toMatchObject({ refreshes: 1, refreshReuseDetected: 0 })
    expect(oauth?.expiresAt).toBeDefined()
    expect(fixed?.accessToken).toBe(readStatic(staticFile))
  })

  it("a hanging upstream holds up only its own provider", async () => {
    // The hanging provider's leader is stuck in its token calls (with retries) all along.
    expectError(await request("get", "project44-hanging", { v: 1 }, 10_000), "TokenUnavailable")
    const before = await getToken("project44")
    const started = Date.now()
    const after = expectToken(await reportUnauthorized("project44", before.version))
    expect(after.version).toBeGreaterThan(before.version)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(upstreams.hanging.counters().mints).toBe(0)
    expect(upstreams.hanging.counters().tokenRequests).toBeGreaterThanOrEqual(1)
  })

  it("renews an ItemPath access token before it expires, with exactly one upstream call per renewal", async () => {
    const first = await getToken("itempath")
    const renewalsBefore = mintLines("itempath", "proactive").length
    await waitUntil(
      () => mintLines("itempath", "proactive").length >= renewalsBefore + 1,
      20_000,
      "no proactive renewals"
    )
    // The log line is written at commit; the broadcast may reach the replica that answers a moment later.
    let renewed = first
    await waitUntil(async () => (renewed = await getToken("itempath")).version > first.version, 5_000, "no newer token")
    expect(renewed.reason).toBe("proactive")
    // Each renewal was one refresh call; the only login is the first one.
    const proactive = mintLines("itempath", "proactive").length
    const counters = upstreams.itemPath.counters()
    expect(counters.logins).toBe(1)
    expect(counters.refreshes).toBe(proactive)
    expect(mintLines("itempath").length).toBe(1 + proactive)
    // The next token came while the one before was still valid: renewed at about half-life.
    expect(renewed.issuedAt).toBeLessThan(first.expiresAt ?? 0)
    const response = await fetch(upstreams.itemPath.resourceUrl, {
      headers: { authorization: `Bearer ${renewed.accessToken}` }
    })
    expect(response.status).toBe(200)
  })

  it("falls back to one login when ItemPath refuses the refresh token", async () => {
    const before = upstreams.itemPath.counters()
    upstreams.itemPath.revokeRefreshTokens()
    const current = await getToken("itempath")
    const after = expectToken(await reportUnauthorized("itempath", current.version))
    expect(after.version).toBeGreaterThan(current.version)
    const counters = upstreams.itemPath.counters()
    expect(counters.refreshFailures).toBe(before.refreshFailures + 1)
    expect(counters.logins).toBe(before.logins + 1)
  })

  it("rotates the OAuth2 refresh token on every mint, never reusing one", async () => {
    const first = await getToken("oauth")
    const refreshes = upstreams.oauth.counters().refreshes
    // The first mint spent the configured refresh token; this one must use the token it rotated to.
    const second = expectToken(await reportUnauthorized("oauth", first.version))
    expect(second.version).toBeGreaterThan(first.version)
    expect(upstreams.oauth.counters()).toMatchObject({ refreshReuseDetected: 0, invalidGrant: 0 })
    expect(upstreams.oauth.counters().refreshes).toBe(refreshes + 1)
  })

  it("commits a changed static token file with a higher version, and broadcasts it", async () => {
    const before = await getToken("static")
    const updates = nats.subscribe(`${prefix}.token.static.updates`)
    const next = `static-${secret()}`
    writeFileSync(staticFile, next)
    let seen: WireToken | undefined
    const deadline = setTimeout(() => updates.unsubscribe(), 10_000)
    for await (const message of updates) {
      const update = JSON.parse(message.string()) as { readonly token: WireToken }
      if (update.token.version > before.version) {
        seen = update.token
        break
      }
    }
    clearTimeout(deadline)
    updates.unsubscribe()
    expect(seen?.accessToken).toBe(next)
    expect((await getToken("static")).version).toBe(seen?.version)
  })

  it("keeps the ItemPath application token across a restart of every replica, without a new call", async () => {
    const before = await getToken("itempath-app")
    const counters = upstreams.itemPathApp.counters()
    // The configured refresh token was spent on the first mint; the rotated one is in KV, with the provider's state.
    await getToken("oauth")
    const refreshes = upstreams.oauth.counters().refreshes
    await Promise.all(replicas.map((replica) => replica.stop("SIGTERM")))
    replicas = await startReplicas(3, config, { env, namePrefix: "kinds-restarted" })
    everyReplica.push(...replicas)
    await waitUntil(
      () =>
        replicas.some((replica) => replica.hasLog(logMsg("adopted the stored token", { provider: "itempath-app" }))),
      20_000,
      "no replica adopted the application token"
    )
    expect(await getToken("itempath-app")).toEqual(before)
    expect(upstreams.itemPathApp.counters()).toEqual(counters)
    // The OAuth2 refresh token rotated before the restart is the one used after it.
    const oauth = await getToken("oauth")
    expectToken(await reportUnauthorized("oauth", oauth.version))
    expect(upstreams.oauth.counters()).toMatchObject({ refreshReuseDetected: 0, invalidGrant: 0 })
    expect(upstreams.oauth.counters().refreshes).toBe(refreshes + 1)
  })

  it("never writes a secret or a token to its logs", async () => {
    await firstTokens()
    const needles = [
      ...Object.values(env),
      ...upstreams.itemPath.issuedAccessTokens(),
      ...upstreams.itemPath.issuedRefreshTokens(),
      ...upstreams.itemPathApp.issuedApplicationTokens(),
      ...upstreams.oauth.issuedRefreshTokens(),
      ...upstreams.oauth.issuedAccessTokens(),
      ...upstreams.p44.issuedTokens()
    ]
    for (const replica of everyReplica) {
      for (const needle of needles)
        expect(replica.output.includes(needle), `${replica.name} leaked a secret`).toBe(false)
    }
  })
})

const readStatic = (path: string): string => readFileSync(path, "utf8").trim()
