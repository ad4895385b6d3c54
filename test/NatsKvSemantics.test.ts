// Pins down the NATS KV behaviour that tokenbus's leader election and token
// store rely on, against the real server image in a container (nats-server
// 2.15, test/support/NatsContainer.ts; the file starts its own) through
// nats.js v3 (@nats-io/kv, @nats-io/jetstream 3.4).
//
// Compare-and-set failures (kv.create on a live key, kv.update with a stale
// revision) reject with, as observed on nats-server 2.15.1 / nats.js 3.4.0:
//
//   error instanceof JetStreamApiError        (from "@nats-io/jetstream")
//   error.name    === "JetStreamApiError"
//   error.code    === 10071                   (JetStreamApiCodes.StreamWrongLastSequence;
//                                              the JetStream `err_code`)
//   error.status  === 400                     (the API `code`)
//   error.message === "wrong last sequence: N" where N is the key's current
//                                              last revision (0 if it has none)
//   error.apiError() => { code: 400, err_code: 10071, description: "wrong last sequence: N" }
//
// Code that maps these to a domain "conflict" should test
// `error instanceof JetStreamApiError && (error.code === 10071 || error.code === 10164)`
// — 10164 (StreamWrongLastSequenceUnknown) is the clustered variant that
// nats.js's own kv.create also treats as a conflict. Anything else (timeouts,
// no responders, connection closed) is NOT a conflict and must not be read as
// "someone else holds the key".
import { randomBytes } from "node:crypto"
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import type { KV, KvOptions } from "@nats-io/kv"
import { connect } from "@nats-io/transport-node"
import type { NatsConnection } from "@nats-io/transport-node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { type NatsContainer, startNatsContainer } from "./support/NatsContainer.ts"

let container: NatsContainer | undefined

beforeAll(async () => {
  container = await startNatsContainer()
})

afterAll(async () => {
  await container?.stop()
})

const connections: Array<NatsConnection> = []
const buckets: Array<KV> = []

afterEach(async () => {
  for (const kv of buckets.splice(0)) await kv.destroy().catch(() => undefined)
  for (const nc of connections.splice(0)) await nc.close().catch(() => undefined)
})

const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(6).toString("hex")}`

const openConnection = async (): Promise<NatsConnection> => {
  if (container === undefined) throw new Error("the NATS container did not start")
  const nc = await connect({ servers: container.url, name: "kv-semantics-test" })
  connections.push(nc)
  return nc
}

const createBucket = async (prefix: string, options: Partial<KvOptions> = {}): Promise<KV> => {
  const nc = await openConnection()
  const kv = await new Kvm(nc).create(uniqueName(prefix), options)
  buckets.push(kv)
  return kv
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** How to recognise a KV compare-and-set conflict (see the header comment). */
const isCasConflict = (error: unknown): error is JetStreamApiError =>
  error instanceof JetStreamApiError &&
  (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
    error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)

/** Asserts `operation` fails with exactly the CAS-conflict error shape; returns it. */
const expectCasConflict = async (operation: Promise<unknown>, currentRevision: number): Promise<JetStreamApiError> => {
  const error: unknown = await operation.then(
    (value) => {
      throw new Error(`expected a CAS conflict, but the operation succeeded with ${String(value)}`)
    },
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(JetStreamApiError)
  expect(isCasConflict(error)).toBe(true)
  const apiError = error as JetStreamApiError
  expect(apiError.name).toBe("JetStreamApiError")
  expect(apiError.code).toBe(10071)
  expect(apiError.status).toBe(400)
  expect(apiError.message).toBe(`wrong last sequence: ${currentRevision}`)
  expect(apiError.apiError()).toEqual({
    code: 400,
    err_code: 10071,
    description: `wrong last sequence: ${currentRevision}`
  })
  return apiError
}

describe("NATS KV semantics tokenbus relies on", () => {
  it("(1) create on an existing key fails with a wrong-last-sequence JetStreamApiError", async () => {
    const kv = await createBucket("kvsem_create")
    const revision = await kv.create("leader", "node-a")
    expect(revision).toBe(1)

    await expectCasConflict(kv.create("leader", "node-b"), revision)
    // The loser did not overwrite anything.
    const entry = await kv.get("leader")
    expect(entry?.string()).toBe("node-a")
    expect(entry?.revision).toBe(revision)

    // Racing creates on a fresh key: exactly one wins, all others conflict.
    const contenders = ["a", "b", "c", "d", "e"]
    const results = await Promise.allSettled(contenders.map((who) => kv.create("race", who)))
    const winners = results.filter((r) => r.status === "fulfilled")
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === "rejected")
    expect(winners).toHaveLength(1)
    expect(losers).toHaveLength(contenders.length - 1)
    for (const loser of losers) expect(isCasConflict(loser.reason)).toBe(true)
    const winnerIndex = results.findIndex((r) => r.status === "fulfilled")
    expect((await kv.get("race"))?.string()).toBe(contenders[winnerIndex])
  })

  it("(2) update with a wrong revision fails; with the right one it succeeds with a higher revision", async () => {
    const kv = await createBucket("kvsem_update")
    const first = await kv.create("token", "t1")
    const other = await kv.create("other", "x")
    expect(other).toBeGreaterThan(first)

    // Wrong revisions: too high, another key's revision (revisions are checked per key).
    await expectCasConflict(kv.update("token", "t2", first + 100), first)
    await expectCasConflict(kv.update("token", "t2", other), first)
    // A key that never existed has last revision 0.
    await expectCasConflict(kv.update("missing", "m", first), 0)

    const second = await kv.update("token", "t2", first)
    expect(second).toBeGreaterThan(first)
    expect((await kv.get("token"))?.string()).toBe("t2")

    // A stale writer holding the old revision now loses.
    await expectCasConflict(kv.update("token", "t3", first), second)
    expect((await kv.get("token"))?.revision).toBe(second)

    // revision <= 0 is rejected client-side (synchronously thrown, not a JetStream error).
    expect(() => kv.update("token", "t3", 0)).toThrow("version must be greater than 0")
  })

  it("(3) with bucket ttl, a key left alone expires and can be created again; a key updated every 500 ms stays", async () => {
    const ttl = 1_500
    const kv = await createBucket("kvsem_ttl", { ttl })
    const staleRevision = await kv.create("stale", "held-by-a")
    let liveRevision = await kv.create("live", "held-by-b")
    const started = Date.now()

    // Renew "live" every 500 ms (CAS on its own revision, as a lease holder
    // would) until "stale" has expired. The server removes expired messages on
    // a timer, so expiry is observed somewhat after ttl (about 1.8 s for
    // ttl 1.5 s here): a lease is held for ttl plus up to that lag.
    let staleGoneAfter: number | undefined
    let renewals = 0
    while (Date.now() - started < ttl + 10_000) {
      await sleep(500)
      liveRevision = await kv.update("live", `held-by-b #${++renewals}`, liveRevision)
      if ((await kv.get("stale")) === null) {
        staleGoneAfter = Date.now() - started
        break
      }
    }
    expect(staleGoneAfter, "the un-renewed key never expired").toBeDefined()
    expect(staleGoneAfter).toBeGreaterThanOrEqual(ttl - 100)
    expect(renewals).toBeGreaterThanOrEqual(3)

    // Expiry leaves no delete marker: a plain create (expected last sequence 0) works.
    const recreated = await kv.create("stale", "held-by-c")
    expect(recreated).toBeGreaterThan(staleRevision)
    expect(recreated).toBeGreaterThan(liveRevision)

    // The renewed key outlived the ttl and is still held.
    const live = await kv.get("live")
    expect(live?.string()).toBe(`held-by-b #${renewals}`)
    expect(live?.revision).toBe(liveRevision)
    await expectCasConflict(kv.create("live", "held-by-c"), liveRevision)
  })

  it("(4) after delete, create succeeds again", async () => {
    const kv = await createBucket("kvsem_delete")
    const first = await kv.create("leader", "node-a")
    await kv.delete("leader")

    // get() does NOT hide delete markers: it returns the marker as an entry
    // with operation "DEL" and an empty value, so readers must check
    // `entry.operation === "PUT"` (only an expired or never-written key reads as null).
    const marker = await kv.get("leader")
    expect(marker).not.toBeNull()
    expect(marker?.operation).toBe("DEL")
    expect(marker?.revision).toBe(first + 1)
    expect(marker?.length).toBe(0)

    // nats.js's create(): the first publish (expected last sequence 0) conflicts
    // with the delete marker, so it reads the marker and retries with the
    // marker's revision — still a compare-and-set, so only one racer wins.
    const second = await kv.create("leader", "node-b")
    expect(second).toBe(first + 2) // the delete marker took first + 1
    expect((await kv.get("leader"))?.operation).toBe("PUT")
    expect((await kv.get("leader"))?.string()).toBe("node-b")
    await expectCasConflict(kv.create("leader", "node-c"), second)

    // Racing creates after a delete: exactly one wins.
    await kv.delete("leader")
    const results = await Promise.allSettled(["x", "y", "z"].map((who) => kv.create("leader", who)))
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1)
    for (const r of results) if (r.status === "rejected") expect(isCasConflict(r.reason)).toBe(true)
  })

  it("(5) revisions are per bucket (the stream sequence) and only grow", async () => {
    const kv = await createBucket("kvsem_rev_a")
    const a1 = await kv.put("a", "1")
    const b1 = await kv.put("b", "1")
    const a2 = await kv.update("a", "2", a1)
    expect([a1, b1, a2]).toEqual([1, 2, 3]) // shared across keys: one sequence per bucket
    await kv.delete("b") // the delete marker is revision 4
    const c1 = await kv.create("c", "1")
    expect(c1).toBe(5)
    expect((await kv.get("a"))?.revision).toBe(a2)

    const status = await kv.status()
    expect(status.streamInfo.state.last_seq).toBe(c1)

    // Another bucket has its own sequence, starting at 1.
    const other = await createBucket("kvsem_rev_b")
    expect(await other.put("a", "1")).toBe(1)

    // Monotonic under interleaved writers on many keys.
    const revisions = await Promise.all(Array.from({ length: 20 }, (_, i) => kv.put(`k${i % 4}`, String(i))))
    const sorted = [...revisions].sort((x, y) => x - y)
    expect(new Set(revisions).size).toBe(revisions.length)
    expect(sorted[0]).toBeGreaterThan(c1)
    expect(sorted.at(-1)).toBe(c1 + revisions.length)
  })
})
