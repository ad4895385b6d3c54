// 401s, end to end: three replica processes, the simulated project44
// upstream, and consumers reporting that the upstream refused their token.
// Whatever the number of reports, one refused version costs one mint.
//
// One cluster serves the whole file and the tests run in order: each one
// starts from the token the previous one left.
import { TokenbusClient } from "@tokenbus/client"
import { Redacted } from "effect"
import { describe, expect, inject, it } from "vitest"
import { logMsg } from "@tokenbus/testing"
import { expectToken, PROVIDER, sleep, useReplicaCluster, type WireToken } from "./support/ServiceFixture.ts"

/** How long to keep watching after the expected mint, so a late extra mint would be seen. */
const SETTLE_MS = 1500
/** After a reply that must not have caused a mint, a shorter watch is enough. */
const SHORT_SETTLE_MS = 750

const mintedLines = (reason: string) => logMsg("minted and committed a token", { provider: PROVIDER, reason })

describe("unauthorized reports", () => {
  // These tests revoke tokens seconds after minting them, on purpose; the
  // circuit breaker's "refused at once" rule would take that for broken
  // credentials, so it is off here and tested in MintDiscipline.test.ts.
  const fixture = useReplicaCluster({ replicas: 3, provider: { circuitBreaker: { freshTokenMillis: 0 } } })
  let initial: WireToken
  let afterStorm: WireToken

  it("starts with one minted token", async () => {
    const { cluster } = fixture
    const leader = await cluster.waitForLeader(20_000)
    await leader.replica.waitForLog(mintedLines("initial"), 20_000)
    initial = await cluster.getToken()
    expect(cluster.sim.counters()).toMatchObject({ mints: 1, tokenRequests: 1 })
  })

  it("200 concurrent 401 reports for the current version cost exactly one mint", async () => {
    const { cluster } = fixture
    // Raw requests, not a TokenClient: a client holding a newer token answers
    // its own reports without asking, which would hide storms from the service.
    const reports = 200
    const started = performance.now()
    const replies = await Promise.all(
      Array.from({ length: reports }, () => cluster.reportUnauthorized(initial.version, 15_000))
    )
    const stormMillis = Math.round(performance.now() - started)
    process.stderr.write(`[measure] ${reports} concurrent 401 reports answered in ${stormMillis} ms\n`)

    const tokens = replies.map(expectToken)
    afterStorm = tokens[0] as WireToken
    expect(afterStorm.version).toBeGreaterThan(initial.version)
    expect(afterStorm.accessToken).not.toBe(initial.accessToken)
    expect(afterStorm.reason).toBe("unauthorized-report")
    for (const token of tokens) expect(token).toEqual(afterStorm)
    expect(cluster.sim.counters()).toMatchObject({ mints: 2, tokenRequests: 2 })

    await sleep(SETTLE_MS)
    expect(cluster.sim.counters()).toMatchObject({ mints: 2, tokenRequests: 2, rateLimited: 0 })
    const minted = cluster.linesOfAll(mintedLines("unauthorized-report"))
    expect(minted).toHaveLength(1)
    expect(minted[0]?.line["version"]).toBe(afterStorm.version)
    // Every replica serves the new token now.
    const gets = await Promise.all(Array.from({ length: 30 }, () => cluster.getToken()))
    for (const got of gets) expect(got).toEqual(afterStorm)
  })

  it("a stale 401 report gets the current token without a mint", async () => {
    const { cluster } = fixture
    const replies = await Promise.all(Array.from({ length: 20 }, () => cluster.reportUnauthorized(initial.version)))
    for (const reply of replies) expect(expectToken(reply)).toEqual(afterStorm)
    await sleep(SHORT_SETTLE_MS)
    expect(cluster.sim.counters()).toMatchObject({ mints: 2, tokenRequests: 2 })
  })

  it("a report of a version nobody holds gets the current token without a mint", async () => {
    const { cluster } = fixture
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => cluster.reportUnauthorized(afterStorm.version + 1_000_000))
    )
    for (const reply of replies) expect(expectToken(reply)).toEqual(afterStorm)
    await sleep(SHORT_SETTLE_MS)
    expect(cluster.sim.counters()).toMatchObject({ mints: 2, tokenRequests: 2 })
  })

  it("the client's fetch recovers from a revoked token with one retry", async () => {
    const { cluster } = fixture
    const client = await TokenbusClient.connect({ servers: [inject("natsUrl")], prefix: cluster.prefix })
    try {
      const held = await client.getToken(PROVIDER)
      expect(held.version).toBe(afterStorm.version)
      const before = cluster.sim.counters()
      cluster.sim.revoke(Redacted.value(held.accessToken))

      const response = await client.fetch(PROVIDER, cluster.sim.resourceUrl)
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ ok: true })

      const after = cluster.sim.counters()
      expect(after.resourceUnauthorized - before.resourceUnauthorized).toBe(1)
      expect(after.resourceOk - before.resourceOk).toBe(1)
      expect(after.mints - before.mints).toBe(1)
      // Nothing else touched the protected resource in this file.
      expect(after).toMatchObject({ resourceUnauthorized: 1, resourceOk: 1, mints: 3, tokenRequests: 3 })

      const fresh = client.peek(PROVIDER)
      expect(fresh?.version).toBeGreaterThan(held.version)
      expect((await cluster.getToken()).version).toBe(fresh?.version)

      await sleep(SHORT_SETTLE_MS)
      expect(cluster.sim.counters()).toMatchObject({ mints: 3, tokenRequests: 3 })
    } finally {
      await client.close()
    }
  })

  it("never writes the client secret or an access token to its logs", () => {
    fixture.cluster.expectNoSecretsInLogs()
  })
})
