// Losing replicas, end to end: three replica processes, the simulated
// project44 upstream, and the leader killed (SIGKILL), then stopped politely
// (SIGTERM), then every replica gone. A new leader adopts the stored token
// instead of minting, and consumers are served throughout.
//
// Every test kills replicas, so each one starts a cluster of its own.
import { TokenbusClient } from "@tokenbus/client"
import { logMsg, PROVIDER, type ReplicaCluster, sleep, waitUntil, type WireToken } from "@tokenbus/testing"
import { Redacted } from "effect"
import { describe, expect, inject, it } from "vitest"
import { clusterForTest, testLease } from "./support/ServiceFixture.ts"

interface GetOutcome {
  /** When the request was sent (Date.now()). */
  readonly sentAt: number
  readonly version?: number
  readonly accessToken?: string
  readonly error?: string
}

/**
 * Sends raw `get` requests one after another, `intervalMs` apart, until
 * stopped. Raw requests, not a TokenClient: a client answers from its own
 * memory once it holds a token, so it would not exercise the replicas.
 * `afterNextReply` resolves right after a reply arrives, when no request is
 * in flight: a request a replica has received but not yet answered when it is
 * SIGKILLed is lost whatever the service does, so the kill is timed to never
 * catch one, and any failure seen is the service's.
 */
const startGetLoop = (cluster: ReplicaCluster, intervalMs: number) => {
  const outcomes: Array<GetOutcome> = []
  let stopped = false
  let replied: (() => void) | undefined
  const done = (async () => {
    while (!stopped) {
      const sentAt = Date.now()
      try {
        const reply = await cluster.request(cluster.subjects.get(), JSON.stringify({ v: 1 }), 2000)
        outcomes.push(
          reply.ok
            ? { sentAt, version: reply.token.version, accessToken: reply.token.accessToken }
            : { sentAt, error: reply.error._tag }
        )
      } catch (error) {
        outcomes.push({ sentAt, error: String(error) })
      }
      replied?.()
      replied = undefined
      await sleep(intervalMs)
    }
  })()
  return {
    outcomes,
    afterNextReply: () => new Promise<void>((resolve) => (replied = resolve)),
    stop: async () => {
      stopped = true
      await done
    }
  }
}

/** A cluster of `replicas` with its first token minted, once, and the token. */
const startWithToken = async (replicas: number): Promise<{ cluster: ReplicaCluster; token: WireToken }> => {
  const cluster = await clusterForTest({ replicas })
  const token = await cluster.firstToken()
  expect(cluster.sim.counters()).toMatchObject({ mints: 1, tokenRequests: 1 })
  return { cluster, token }
}

describe("failover", () => {
  it("a SIGKILLed leader is replaced without a mint, and gets are answered throughout", async () => {
    const { cluster, token } = await startWithToken(3)
    const old = cluster.leader()
    if (old === undefined) throw new Error("no leader")
    const marks = new Map(cluster.replicas.map((replica) => [replica, replica.logs.length]))

    const loop = startGetLoop(cluster, 50)
    let killedAt = 0
    let tookOverAt = 0
    try {
      await waitUntil(() => loop.outcomes.length >= 5, 5000, "the get loop did not get going")
      await loop.afterNextReply()
      killedAt = old.replica.kill("SIGKILL")
      expect((await old.replica.exited).signal).toBe("SIGKILL")

      // The lock lapses with the lease TTL (3 s, plus the server's expiry lag).
      const next = await cluster.waitForLeader(15_000, old.revision)
      tookOverAt = next.line.time
      expect(next.replica).not.toBe(old.replica)
      const adopted = await next.replica.waitForLog(
        logMsg("adopted the stored token", { provider: PROVIDER }),
        5000,
        marks.get(next.replica)
      )
      expect(adopted["version"]).toBe(token.version)
      const takeoverMillis = tookOverAt - killedAt
      process.stderr.write(`[measure] takeover after SIGKILL of the leader: ${takeoverMillis} ms\n`)
      // Not before the lease could have lapsed (the last renewal was at most renewEvery before the kill)...
      expect(takeoverMillis).toBeGreaterThanOrEqual(testLease.ttlMillis - testLease.renewEveryMillis - 100)
      // ...and not much after (TTL + the server's expiry lag + the followers' retry interval).
      expect(takeoverMillis).toBeLessThan(testLease.ttlMillis + 3000)

      // Keep asking for a while under the new leader.
      const seen = loop.outcomes.length
      await waitUntil(() => loop.outcomes.length >= seen + 10, 5000, "the get loop stalled after the takeover")
    } finally {
      await loop.stop()
    }

    const failures = loop.outcomes.filter((outcome) => outcome.error !== undefined)
    expect(failures).toEqual([])
    for (const outcome of loop.outcomes) {
      expect(outcome.version).toBe(token.version)
      expect(outcome.accessToken).toBe(token.accessToken)
    }
    // Gets were answered while there was no leader at all.
    const leaderless = loop.outcomes.filter((o) => o.sentAt > killedAt && o.sentAt < tookOverAt)
    expect(leaderless.length).toBeGreaterThanOrEqual(10)

    expect(cluster.sim.counters()).toMatchObject({ mints: 1, tokenRequests: 1 })
    expect(cluster.linesOfAll(logMsg("minted and committed a token", { provider: PROVIDER }))).toHaveLength(1)
    cluster.expectNoSecretsInLogs()
  })

  it("a SIGTERMed leader releases the lock and hands over at once, without a mint", async () => {
    const { cluster, token } = await startWithToken(3)
    const old = cluster.leader()
    if (old === undefined || !old.replica.running) throw new Error("no live leader")
    const marks = new Map(cluster.replicas.map((replica) => [replica, replica.logs.length]))

    // Back-to-back gets from four senders: a replica shutting down drains its
    // subscriptions and answers what NATS already routed to it, so none is lost.
    const loops = Array.from({ length: 4 }, () => startGetLoop(cluster, 0))
    await waitUntil(() => loops.every((loop) => loop.outcomes.length >= 5), 5000, "the get loops did not get going")
    const termAt = old.replica.kill("SIGTERM")
    const next = await cluster.waitForLeader(testLease.ttlMillis, old.revision)
    await old.replica.exited
    const answered = loops.map((loop) => loop.outcomes.length)
    await waitUntil(
      () => loops.every((loop, i) => loop.outcomes.length >= (answered[i] ?? 0) + 20),
      5000,
      "gets stalled"
    )
    await Promise.all(loops.map((loop) => loop.stop()))
    const outcomes = loops.flatMap((loop) => loop.outcomes)
    expect(outcomes.filter((outcome) => outcome.error !== undefined)).toEqual([])
    for (const outcome of outcomes) expect(outcome.version).toBe(token.version)

    const handoverMillis = next.line.time - termAt
    process.stderr.write(`[measure] handover after SIGTERM of the leader: ${handoverMillis} ms\n`)
    expect(next.replica).not.toBe(old.replica)
    // Well under the lease TTL (3000 ms): the lock was deleted, not left to lapse.
    expect(handoverMillis).toBeLessThan(2000)

    // It shut down by itself, cleanly (exit code 0), not killed by the signal.
    const exit = await old.replica.exited
    expect(exit, JSON.stringify(exit)).toEqual({ code: 0, signal: null })
    expect(old.replica.hasLog(logMsg("released the lock"), marks.get(old.replica))).toBe(true)
    const adopted = await next.replica.waitForLog(
      logMsg("adopted the stored token", { provider: PROVIDER }),
      5000,
      marks.get(next.replica)
    )
    expect(adopted["version"]).toBe(token.version)

    expect(await cluster.getToken()).toEqual(token)
    expect(cluster.sim.counters()).toMatchObject({ mints: 1, tokenRequests: 1 })
    cluster.expectNoSecretsInLogs()
  })

  it("a client keeps serving its token when the service is gone; a new one gets ServiceUnavailable", async () => {
    const { cluster, token } = await startWithToken(2)
    const requestTimeoutMillis = 2000
    const options = { servers: [inject("natsUrl")], prefix: cluster.prefix, requestTimeoutMillis }
    const holder = await TokenbusClient.connect(options)
    const newcomer = await TokenbusClient.connect(options)
    try {
      const held = await holder.getToken(PROVIDER)
      expect(held.version).toBe(token.version)

      await Promise.all(cluster.replicas.map((replica) => replica.stop("SIGKILL")))
      expect(cluster.running).toHaveLength(0)
      // Nobody answers any more.
      await expect(cluster.request(cluster.subjects.get(), "", 1000)).rejects.toThrow()

      const still = await holder.getToken(PROVIDER)
      expect(still.version).toBe(held.version)
      expect(Redacted.value(still.accessToken)).toBe(token.accessToken)
      expect(await holder.accessToken(PROVIDER)).toBe(token.accessToken)

      expect(newcomer.peek(PROVIDER)).toBeUndefined()
      const started = performance.now()
      const error: unknown = await newcomer.getToken(PROVIDER).then(
        () => expect.fail("a client with no token got one with no service running"),
        (e: unknown) => e
      )
      const elapsed = performance.now() - started
      expect((error as { _tag?: string })._tag, String(error)).toBe("ServiceUnavailable")
      expect((error as { provider?: string }).provider).toBe(PROVIDER)
      expect(elapsed).toBeLessThan(requestTimeoutMillis + 500)
    } finally {
      await holder.close()
      await newcomer.close()
    }
    expect(cluster.sim.counters()).toMatchObject({ mints: 1, tokenRequests: 1 })
    cluster.expectNoSecretsInLogs()
  })
})
