// A leader frozen (SIGSTOP) while the upstream answers its refresh: the
// upstream has spent the refresh token, tokenbus never committed the answer.
// Whether that leader is then killed or resumed, the next leader must not
// replay the spent refresh token (the OAuth2 simulator's reuse detection
// would revoke the whole grant), and must say which secret to renew; an
// ItemPath provider logs in again instead. Counted on the upstreams' books.
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { startItemPathSim, startOAuth2RefreshSim } from "@tokenbus/sim"
import {
  currentLeader,
  expectError,
  expectToken,
  logMsg,
  randomPrefix,
  type ReplicaProcess,
  requestReply,
  settledLeader,
  startReplicas,
  testStorage,
  waitUntil
} from "@tokenbus/testing"
import { randomBytes } from "node:crypto"
import { afterEach, describe, expect, inject, it } from "vitest"
import { testLease } from "./support/ServiceFixture.ts"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

const secret = () => randomBytes(12).toString("hex")
/** Long enough to freeze the leader while the upstream still holds the answer. */
const latencyMs = 1_500

interface Deployment {
  readonly replicas: Array<ReplicaProcess>
  readonly get: () => Promise<ReturnType<typeof expectToken>>
  readonly report: (version: number) => ReturnType<typeof requestReply>
}

const connections: Array<NatsConnection> = []
afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.close()
})

const deploy = async (provider: Record<string, unknown>, env: Record<string, string>): Promise<Deployment> => {
  const prefix = randomPrefix()
  const config = {
    nats: { servers: [inject("natsUrl")] },
    prefix,
    lease: testLease,
    requestTimeoutMillis: 4_000,
    storage: testStorage,
    providers: [{ id: "grant", ...provider }]
  }
  const replicas = await startReplicas(3, config, { env })
  const nats = await connect({ servers: inject("natsUrl") })
  connections.push(nats)
  const subject = (verb: string) => `${prefix}.token.grant.${verb}`
  const get = async () => expectToken(await requestReply(nats, subject("get"), JSON.stringify({ v: 1 }), 15_000))
  const report = (version: number) => requestReply(nats, subject("unauthorized"), JSON.stringify({ v: 1, version }), 15_000)
  // The replicas hand the provider over as each joins: the leader to freeze is the one that stays.
  await waitUntil(() => settledLeader(replicas, "grant") !== undefined, 20_000, "no settled leader")
  return { replicas, get, report }
}

/** Freezes the leader once the upstream has its call, and waits for another replica to lead. */
const freezeLeaderDuringCall = async (replicas: ReadonlyArray<ReplicaProcess>, calls: () => number) => {
  const leader = settledLeader(replicas, "grant")!
  const before = calls()
  const mark = leader.replica.logs.length
  return {
    leader,
    mark,
    whenCalled: async () => {
      await waitUntil(() => calls() > before, 10_000, "the leader did not call the upstream")
      leader.replica.kill("SIGSTOP")
      await waitUntil(() => (currentLeader(replicas, "grant")?.revision ?? 0) > leader.revision, 15_000, "no takeover")
      await new Promise((resolve) => setTimeout(resolve, latencyMs + 500)) // the upstream has answered by now
    }
  }
}

describe("a leader frozen between the upstream's answer and its commit", () => {
  useReplicaCleanup()

  for (const then of ["killed", "resumed"] as const) {
    it(`oauth2-refresh-token, then ${then}: no refresh token is replayed; the breaker names the secret`, async () => {
      const clientSecret = secret()
      const sim = await startOAuth2RefreshSim({ clientId: "tokenbus", clientSecret, latencyMs })
      const provider = {
        kind: "oauth2-refresh-token",
        tokenUrl: sim.tokenUrl,
        clientId: "tokenbus",
        clientSecret: { env: "GRANT_SECRET" },
        clientAuth: "basic",
        refreshToken: { env: "GRANT_REFRESH_TOKEN" },
        lifecycle: { mode: "on-401" }
      }
      const env = { GRANT_SECRET: clientSecret, GRANT_REFRESH_TOKEN: sim.issueRefreshToken() }
      const { get, replicas, report } = await deploy(provider, env)
      const first = await get()
      const frozen = await freezeLeaderDuringCall(replicas, () => sim.counters().tokenRequests)
      const pending = report(first.version).catch((error: unknown) => error)
      await frozen.whenCalled()
      // Killed: wait until it is gone, so no request of this test is routed to a dead replica's subscription.
      if (then === "killed") await frozen.leader.replica.stop("SIGKILL")
      else frozen.leader.replica.kill("SIGCONT")
      if (then === "resumed") {
        await frozen.leader.replica.waitForLog(logMsg("stepped down", { provider: "grant" }), 10_000, frozen.mark)
      }
      await pending
      expect(sim.counters().refreshes).toBe(2)

      const refused = expectError(await report(first.version), "CredentialsRejected")
      expect(refused.message).toMatch(/refreshToken/)
      expect(sim.counters().refreshes).toBe(2)
      expect(sim.counters().refreshReuseDetected).toBe(0)
      expect(sim.counters().invalidGrant).toBe(0)
      // The consumers keep the last committed token meanwhile.
      expect((await get()).version).toBe(first.version)
    })
  }

  it("itempath: the next leader logs in again instead of guessing at the session", async () => {
    const password = secret()
    const sim = await startItemPathSim({ username: "tokenbus", password, latencyMs })
    const provider = {
      kind: "itempath",
      baseUrl: sim.baseUrl,
      username: "tokenbus",
      password: { env: "ITEMPATH_PASSWORD" },
      lifecycle: { mode: "on-401" }
    }
    const { get, replicas, report } = await deploy(provider, { ITEMPATH_PASSWORD: password })
    const first = await get()
    expect(sim.counters().logins).toBe(1)
    const frozen = await freezeLeaderDuringCall(replicas, () => sim.counters().userRequests)
    const pending = report(first.version).catch((error: unknown) => error)
    await frozen.whenCalled()
    await frozen.leader.replica.stop("SIGKILL")
    await pending
    const refreshes = sim.counters().refreshes
    expect(refreshes).toBe(1)

    const next = expectToken(await report(first.version))
    expect(next.version).toBeGreaterThan(first.version)
    expect(sim.counters().logins).toBe(2)
    expect(sim.counters().refreshes).toBe(refreshes)
  })
})
