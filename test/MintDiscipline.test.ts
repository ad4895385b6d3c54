// Mint discipline across the cluster, end to end against the simulated
// project44 (5 tokens a minute, burst 6, 429 beyond): the rate budget holds
// through leader kills, a paused leader commits nothing, an outage is ridden
// out with backoff, and rejected credentials stop all minting until the
// secret changes. Every claim is checked on the upstream's own counters.
//
// Each describe block with one test shares its cluster with nobody; the
// circuit breaker's tests each trip the breaker, so each starts its own.
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  expectError,
  expectToken,
  logMsg,
  PROVIDER,
  type ReplicaCluster,
  sleep,
  waitUntil,
  type WireReply
} from "@tokenbus/testing"
import { describe, expect, it, onTestFinished } from "vitest"
import { clusterForTest, useReplicaCluster } from "./support/ServiceFixture.ts"

const minted = logMsg("minted and committed a token", { provider: PROVIDER })

/** Runs the `tokenbus` command, as an operator would. */
const runCli = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "../packages/service/src/bin.ts"), ...args])
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.once("exit", (code) => resolve({ code, output }))
  })

/** Reporters that keep saying the current token got a 401, as a fleet with a revoked token would. */
const startStorm = (cluster: ReplicaCluster, reporters: number) => {
  let stopped = false
  const replies: Array<WireReply> = []
  const failures: Array<string> = []
  const loops = Array.from({ length: reporters }, async () => {
    while (!stopped) {
      try {
        const current = await cluster.getToken(2000)
        replies.push(await cluster.reportUnauthorized(current.version, 8000))
        await sleep(50)
      } catch (error) {
        failures.push(String(error))
        await sleep(100)
      }
    }
  })
  return {
    replies,
    failures,
    stop: async () => {
      stopped = true
      await Promise.all(loops)
    }
  }
}

describe("the rate budget", () => {
  // The fresh-token rule of the circuit breaker is off: this storm is meant to
  // keep asking for new tokens, so that only the budget stands in its way.
  const fixture = useReplicaCluster({ replicas: 4, provider: { circuitBreaker: { freshTokenMillis: 0 } } })

  it("holds through a 401 storm and three consecutive leader kills: no 429, never more than the budget", async () => {
    const { cluster } = fixture
    await cluster.waitForLeader(20_000)
    await waitUntil(() => cluster.linesOfAll(minted).length === 1, 20_000, "no initial mint")
    const started = Date.now()

    const storm = startStorm(cluster, 20)
    try {
      for (let kill = 0; kill < 3; kill++) {
        await sleep(1500)
        const leader = cluster.leader()
        if (leader === undefined) throw new Error("no leader")
        leader.replica.kill("SIGKILL")
        await cluster.waitForLeader(15_000, leader.revision)
      }
      await sleep(1500)
    } finally {
      await storm.stop()
    }
    const elapsed = Date.now() - started
    const counters = cluster.sim.counters()
    process.stderr.write(
      `[measure] storm of ${elapsed} ms through 3 kills: ${counters.tokenRequests} token requests, ` +
        `${storm.replies.length} replies\n`
    )

    // tokenbus's default budget: 5 a minute with a burst of 5 (the initial mint included).
    expect(elapsed).toBeLessThan(60_000)
    expect(counters.rateLimited).toBe(0)
    expect(counters.tokenRequests).toBeLessThanOrEqual(5 + Math.ceil((elapsed * 5) / 60_000))
    // The budget was really tested: the storm spent it all and then waited.
    expect(counters.tokenRequests).toBeGreaterThanOrEqual(5)
    const waiting = storm.replies.filter((reply) => reply.ok && "renewalExpectedAt" in reply)
    expect(waiting.length).toBeGreaterThan(0)
    expect(cluster.linesOfAll(logMsg("mint waits for the rate budget", { provider: PROVIDER })).length).toBeGreaterThan(
      0
    )
    cluster.expectNoSecretsInLogs()
  })
})

describe("a paused leader", () => {
  // A slow upstream, so the leader can be frozen in the middle of a mint. The
  // breaker's fresh-token rule is off: the test reports fresh tokens on purpose.
  const fixture = useReplicaCluster({
    replicas: 3,
    sim: { latencyMs: 1500 },
    provider: { circuitBreaker: { freshTokenMillis: 0 } }
  })

  it("paused with SIGSTOP past its lease, then resumed, commits nothing and steps down", async () => {
    const { cluster } = fixture
    // The leader that stays, not the first to log it: replicas hand the provider over as each joins.
    await cluster.firstToken()
    const old = await cluster.settledLeader()
    const before = await cluster.getToken()
    const mark = old.replica.logs.length
    const mintedBefore = old.replica.lines(minted).length
    const requests = cluster.sim.counters().tokenRequests

    // Start a mint, freeze the leader while the upstream call is under way.
    const report = cluster.reportUnauthorized(before.version, 20_000).catch((error: unknown) => error)
    await waitUntil(() => cluster.sim.counters().tokenRequests > requests, 5000, "the leader did not call the upstream")
    old.replica.kill("SIGSTOP")
    const next = await cluster.waitForLeader(15_000, old.revision)
    expect(next.replica).not.toBe(old.replica)
    await sleep(2000) // the upstream has answered the frozen leader by now
    old.replica.kill("SIGCONT")

    await old.replica.waitForLog(logMsg("stepped down", { provider: PROVIDER }), 10_000, mark)
    expect(old.replica.hasLog(minted, mark)).toBe(false)
    // Its token reached the upstream's books, never tokenbus's: whatever
    // answered the report (the new leader, if the replica's retries reached
    // it in time, or a TokenUnavailable), the frozen leader's token is not it.
    await report
    const frozenLeadersToken = cluster.sim.issuedTokens()[requests]
    expect(frozenLeadersToken).toBeDefined()
    const served = await cluster.getToken()
    expect(served.accessToken).not.toBe(frozenLeadersToken)

    // The new leader mints as usual, with a version above anything before.
    const after = expectToken(await cluster.reportUnauthorized(served.version, 20_000))
    expect(after.version).toBeGreaterThan(served.version)
    expect(after.accessToken).not.toBe(frozenLeadersToken)
    expect(old.replica.lines(minted)).toHaveLength(mintedBefore)
    cluster.expectNoSecretsInLogs()
  })
})

describe("an upstream outage", () => {
  const fixture = useReplicaCluster({
    replicas: 2,
    provider: { retry: { attempts: 4, baseMillis: 400, capMillis: 5000 } }
  })

  it("503 then 200 recovers with backoff, every attempt counted", async () => {
    const { cluster } = fixture
    await cluster.firstToken()
    const leader = await cluster.settledLeader()
    const before = await cluster.getToken()
    const counters = cluster.sim.counters()

    cluster.sim.failNext(2, 503)
    const started = Date.now()
    const after = expectToken(await cluster.reportUnauthorized(before.version, 20_000))
    const elapsed = Date.now() - started

    expect(after.version).toBeGreaterThan(before.version)
    expect(cluster.sim.counters()).toMatchObject({
      serverErrors: 2,
      tokenRequests: counters.tokenRequests + 3,
      mints: counters.mints + 1,
      rateLimited: 0
    })
    // Two backoffs of at least half of 400 ms and 800 ms (equal jitter).
    expect(elapsed).toBeGreaterThanOrEqual(200 + 400)
    const failures = leader.replica.lines(logMsg("upstream call failed", { provider: PROVIDER, kind: "transient" }))
    expect(failures).toHaveLength(2)
  })
})

describe("the credential circuit breaker", () => {
  /** A secret in a file, as an operator would rotate it; removed when the test ends. */
  const secretFile = (secret: string): string => {
    const dir = mkdtempSync(join(tmpdir(), "tokenbus-secret-"))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, "client-secret")
    writeFileSync(file, secret)
    return file
  }

  /** Reports the current token, then at once the token that report minted: the breaker's fresh-token rule trips. */
  const tripOnFreshToken = async (cluster: ReplicaCluster) => {
    const first = await cluster.firstToken()
    const fresh = expectToken(await cluster.reportUnauthorized(first.version))
    expect(fresh.reason).toBe("unauthorized-report")
    const requests = cluster.sim.counters().tokenRequests
    // Within the breaker's default 5 s of that mint.
    const reply = expectError(await cluster.reportUnauthorized(fresh.version), "CredentialsRejected")
    return { fresh, requests, reply }
  }

  it("rejected credentials stop all minting after one attempt; a secret change clears it", async () => {
    const initialSecret = `initial-${randomBytes(12).toString("hex")}`
    const file = secretFile(initialSecret)
    const cluster = await clusterForTest({
      replicas: 3,
      sim: { clientSecret: initialSecret },
      provider: { clientSecret: { file } }
    })
    const before = await cluster.firstToken()
    const counters = cluster.sim.counters()

    // The upstream rotates the secret; tokenbus still has the old one.
    const rotated = `rotated-${Date.now()}`
    cluster.sim.setCredentials({ clientId: cluster.upstream.clientId, clientSecret: rotated })
    const tripped = expectError(await cluster.reportUnauthorized(before.version), "CredentialsRejected")
    expect(tripped.message).toContain("invalid_client")
    expect(cluster.sim.counters()).toMatchObject({ tokenRequests: counters.tokenRequests + 1, invalidClient: 1 })

    // Every further report is refused without touching the upstream; gets still serve the held token.
    for (let i = 0; i < 10; i++) expectError(await cluster.reportUnauthorized(before.version), "CredentialsRejected")
    expect(await cluster.getToken()).toEqual(before)
    await sleep(1000)
    expect(cluster.sim.counters().tokenRequests).toBe(counters.tokenRequests + 1)
    // The error log says what to do about it.
    expect(cluster.replicas.some((replica) => replica.output.includes(`tokenbus reset ${PROVIDER}`))).toBe(true)

    // The operator puts the new secret in place: the next report mints.
    writeFileSync(file, rotated)
    const after = expectToken(await cluster.reportUnauthorized(before.version))
    expect(after.version).toBeGreaterThan(before.version)
    expect(cluster.sim.counters()).toMatchObject({ tokenRequests: counters.tokenRequests + 2, invalidClient: 1 })
    for (const replica of cluster.replicas) {
      expect(replica.output).not.toContain(rotated)
      expect(replica.output).not.toContain(initialSecret)
    }
    cluster.expectNoSecretsInLogs()
  })

  it("a token minted after a 401 and itself refused at once trips the breaker", async () => {
    const cluster = await clusterForTest({ replicas: 3 })
    const { fresh, requests, reply } = await tripOnFreshToken(cluster)
    expect(reply.message).toContain("refused at once")
    expect(cluster.sim.counters().tokenRequests).toBe(requests)
    // Gets still serve the held token; further reports are refused without an upstream call.
    expect(await cluster.getToken()).toEqual(fresh)
    expectError(await cluster.reportUnauthorized(fresh.version), "CredentialsRejected")
    expect(cluster.sim.counters().tokenRequests).toBe(requests)
  })

  it("an operator's tokenbus reset clears the breaker and mints at once", async () => {
    const cluster = await clusterForTest({ replicas: 3 })
    const { fresh } = await tripOnFreshToken(cluster)
    const requests = cluster.sim.counters().tokenRequests
    const { code, output } = await runCli(["reset", PROVIDER, "--servers", cluster.natsUrl, "--prefix", cluster.prefix])
    expect(code, output).toBe(0)
    const after = await cluster.getToken()
    expect(output).toContain(`${PROVIDER}: new token, version ${after.version}`)
    expect(after.version).toBeGreaterThan(fresh.version)
    expect(after.reason).toBe("operator")
    expect(cluster.sim.counters().tokenRequests).toBe(requests + 1)
    // Cleared: a report of the operator's token mints again instead of being refused.
    const next = expectToken(await cluster.reportUnauthorized(after.version))
    expect(next.version).toBeGreaterThan(after.version)
    expect(cluster.sim.counters().tokenRequests).toBe(requests + 2)
  })
})
