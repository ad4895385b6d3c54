// 401s, end to end: three replica processes, the simulated project44
// upstream, and consumers reporting that the upstream refused their token.
// Whatever the number of reports, one refused version costs one mint.
//
// One cluster serves the whole file. Each test starts from whatever token the
// cluster holds and counts the upstream's calls from there, so any of them can
// run alone. Every run of the file mints at most 4 tokens, within the default
// rate budget (burst 5).
import { TokenbusClient } from "@tokenbus/client"
import { expectToken, logMsg, PROVIDER, sleep } from "@tokenbus/testing"
import { Redacted } from "effect"
import { describe, expect, inject, it } from "vitest"
import { useReplicaCluster } from "./support/ServiceFixture.ts"

/** How long to keep watching after the expected mint, so a late extra mint would be seen. */
const SETTLE_MS = 1500
/** After a reply that must not have caused a mint, a shorter watch is enough. */
const SHORT_SETTLE_MS = 750

const mintedLines = (reason?: string) =>
  logMsg("minted and committed a token", reason === undefined ? { provider: PROVIDER } : { provider: PROVIDER, reason })

describe("unauthorized reports", () => {
  // These tests revoke tokens seconds after minting them, on purpose; the
  // circuit breaker's "refused at once" rule would take that for broken
  // credentials, so it is off here and tested in MintDiscipline.test.ts.
  const fixture = useReplicaCluster({ replicas: 3, provider: { circuitBreaker: { freshTokenMillis: 0 } } })

  it("200 concurrent 401 reports for the current version cost exactly one mint", async () => {
    const { cluster } = fixture
    const current = await cluster.firstToken()
    const before = cluster.sim.counters()
    const mintsLogged = cluster.linesOfAll(mintedLines()).length
    // Raw requests, not a TokenClient: a client holding a newer token answers
    // its own reports without asking, which would hide storms from the service.
    const reports = 200
    const started = performance.now()
    const replies = await Promise.all(
      Array.from({ length: reports }, () => cluster.reportUnauthorized(current.version, 15_000))
    )
    const stormMillis = Math.round(performance.now() - started)
    process.stderr.write(`[measure] ${reports} concurrent 401 reports answered in ${stormMillis} ms\n`)

    const tokens = replies.map(expectToken)
    const afterStorm = tokens[0]
    if (afterStorm === undefined) throw new Error("no reply")
    expect(afterStorm.version).toBeGreaterThan(current.version)
    expect(afterStorm.accessToken).not.toBe(current.accessToken)
    expect(afterStorm.reason).toBe("unauthorized-report")
    for (const token of tokens) expect(token).toEqual(afterStorm)
    expect(cluster.sim.counters()).toMatchObject({ mints: before.mints + 1, tokenRequests: before.tokenRequests + 1 })

    await sleep(SETTLE_MS)
    expect(cluster.sim.counters()).toMatchObject({
      mints: before.mints + 1,
      tokenRequests: before.tokenRequests + 1,
      rateLimited: 0
    })
    expect(cluster.linesOfAll(mintedLines())).toHaveLength(mintsLogged + 1)
    const minted = cluster.linesOfAll(mintedLines("unauthorized-report"))
    expect(minted.filter(({ line }) => line["version"] === afterStorm.version)).toHaveLength(1)
    // Every replica serves the new token now.
    const gets = await Promise.all(Array.from({ length: 30 }, () => cluster.getToken()))
    for (const got of gets) expect(got).toEqual(afterStorm)
  })

  it("a stale 401 report gets the current token without a mint", async () => {
    const { cluster } = fixture
    // Make a token stale: report it, so the leader mints the next one.
    const stale = await cluster.firstToken()
    const current = expectToken(await cluster.reportUnauthorized(stale.version))
    expect(current.version).toBeGreaterThan(stale.version)
    const before = cluster.sim.counters()

    const replies = await Promise.all(Array.from({ length: 20 }, () => cluster.reportUnauthorized(stale.version)))
    for (const reply of replies) expect(expectToken(reply)).toEqual(current)
    await sleep(SHORT_SETTLE_MS)
    expect(cluster.sim.counters()).toMatchObject({ mints: before.mints, tokenRequests: before.tokenRequests })
  })

  it("a report of a version nobody holds gets the current token without a mint", async () => {
    const { cluster } = fixture
    const current = await cluster.firstToken()
    const before = cluster.sim.counters()
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => cluster.reportUnauthorized(current.version + 1_000_000))
    )
    for (const reply of replies) expect(expectToken(reply)).toEqual(current)
    await sleep(SHORT_SETTLE_MS)
    expect(cluster.sim.counters()).toMatchObject({ mints: before.mints, tokenRequests: before.tokenRequests })
  })

  it("the client's fetch recovers from a revoked token with one retry", async () => {
    const { cluster } = fixture
    const current = await cluster.firstToken()
    const client = await TokenbusClient.connect({ servers: [inject("natsUrl")], prefix: cluster.prefix })
    try {
      const held = await client.getToken(PROVIDER)
      expect(held.version).toBe(current.version)
      const before = cluster.sim.counters()
      cluster.sim.revoke(Redacted.value(held.accessToken))

      const response = await client.fetch(PROVIDER, cluster.sim.resourceUrl)
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ ok: true })

      const after = cluster.sim.counters()
      expect(after.resourceUnauthorized - before.resourceUnauthorized).toBe(1)
      expect(after.resourceOk - before.resourceOk).toBe(1)
      expect(after.mints - before.mints).toBe(1)
      expect(after.tokenRequests - before.tokenRequests).toBe(1)

      const fresh = client.peek(PROVIDER)
      expect(fresh?.version).toBeGreaterThan(held.version)
      expect((await cluster.getToken()).version).toBe(fresh?.version)

      await sleep(SHORT_SETTLE_MS)
      expect(cluster.sim.counters()).toMatchObject({ mints: after.mints, tokenRequests: after.tokenRequests })
    } finally {
      await client.close()
    }
  })

  it("never writes the client secret or an access token to its logs", async () => {
    const { cluster } = fixture
    // Something to leak first: a minted token, served by every replica.
    await cluster.firstToken()
    await Promise.all(Array.from({ length: 30 }, () => cluster.getToken()))
    cluster.expectNoSecretsInLogs()
  })
})
