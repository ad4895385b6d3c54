// Least privilege, enforced: a nats-server of this test's own runs exactly the
// configuration docs/permissions.md gives (read from the page, so the two
// cannot drift), with a user per role, and a cluster of replica processes
// logs in as the replica user. The test shows that the replicas need nothing
// more (they create and change their buckets, elect, serve, hand over and
// mint, and the server's log shows not one refusal of theirs), and that the
// consumers and the operator can do what they are for and nothing else: the
// server refuses, and logs, every step outside a role.
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { jetstreamManager } from "@nats-io/jetstream"
import { type KV, Kvm } from "@nats-io/kv"
import { TokenbusClient } from "@tokenbus/client"
import { logMsg, waitUntil, type WireToken } from "@tokenbus/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  allowed,
  buckets,
  other,
  type PermissionedDeployment,
  prefix,
  startPermissionedDeployment,
  subject
} from "./support/PermissionedDeployment.ts"
import { rejectionOf, type RoleConnection, roles, runCli, subscriptionRefusal } from "./support/PermissionRoles.ts"
import { quotedSubjects, readPermissionsDoc } from "./support/PermissionsDoc.ts"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

useReplicaCleanup()

const doc = readPermissionsDoc()
let deployment: PermissionedDeployment
beforeAll(async () => {
  deployment = await startPermissionedDeployment(doc)
})
afterAll(() => deployment?.stop())

const publishRefused = (to: string) => `Permissions Violation for Publish to "${to}"`
const subscribeRefused = (to: string) => `Permissions Violation for Subscription to "${to}"`

const expectReplicasRefusedNothing = (): void => {
  expect(deployment.server.violations(roles.replica.user).map((violation) => violation.line)).toEqual([])
}

describe("least privilege: the roles of docs/permissions.md", () => {
  it("every subject the configuration names is explained on the page", () => {
    const prose = doc.text.replace(doc.config, "")
    const explained = new Set([...prose.matchAll(/`([^`\s]+)`/g)].map((match) => match[1]))
    const unexplained = quotedSubjects(doc.config).filter((name) => !explained.has(name))
    expect(unexplained).toEqual([])
  })

  it("replicas with the replica role change a bucket, elect, serve, hand over and mint, refused nothing", async () => {
    const changed = deployment.replicas.flatMap((replica) => replica.lines(logMsg("changed a setting of a KV bucket")))
    expect(changed).toContainEqual(expect.objectContaining({ bucket: `${prefix}-leases`, setting: "lease.ttlMillis" }))
    const orders = await TokenbusClient.connect(deployment.clientOptions(roles.orders, "orders-client"))
    try {
      const held = await orders.getToken(allowed)
      expect((await orders.getToken(other)).provider).toBe(other)
      const leader = await deployment.leader(allowed)
      await leader.replica.stop("SIGTERM")
      const next = await deployment.leader(allowed, leader.revision)
      expect(next.replica).not.toBe(leader.replica)
      // The new leader mints for a 401 report.
      expect((await orders.reportUnauthorized(held)).version).toBeGreaterThan(held.version)
    } finally {
      await orders.close()
    }
    expectReplicasRefusedNothing()
  })

  it("a consumer gets and reports 401s for its provider and receives its updates, and needs nothing more", async () => {
    const tracking = await TokenbusClient.connect(deployment.clientOptions(roles.tracking, "tracking-client"))
    try {
      const held = await tracking.getToken(allowed)
      const renewed = await tracking.reportUnauthorized(held)
      expect(renewed.version).toBeGreaterThan(held.version)
      // A token it did not ask for reaches it by the broadcast.
      const broadcast = await deployment.reset(allowed)
      await waitUntil(() => tracking.peek(allowed)?.version === broadcast.version, 10_000, "no update arrived")
    } finally {
      await tracking.close()
    }
    // Not even the client's subscriptions needed a wildcard.
    const refused = deployment.server.violations(roles.tracking.user)
    expect(refused.filter((violation) => violation.connection === "tracking-client")).toEqual([])
    expectReplicasRefusedNothing()
  })

  it("a consumer cannot publish updates (a replica-rights subscriber sees none) nor answer requests", async () => {
    const listener = await deployment.as(roles.replica, "replica-rights-listener")
    const seen: Array<number> = []
    listener.nc.subscribe(subject.updates(allowed), {
      callback: (_, message) => void seen.push((JSON.parse(message.string()) as { token: WireToken }).token.version)
    })
    await listener.nc.flush()
    for (const user of [roles.tracking, roles.orders]) {
      const forger = await deployment.as(user, `${user.user}-forger`)
      const token = { provider: allowed, version: Number.MAX_SAFE_INTEGER, accessToken: "forged", tokenType: "Bearer" }
      forger.nc.publish(subject.updates(allowed), JSON.stringify({ v: 1, token: { ...token, issuedAt: Date.now() } }))
      await forger.nc.flush()
      await waitUntil(() => forger.refusals.length > 0, 5000, `${user.user}'s forged update was not refused`)
      expect(forger.refusals).toEqual([publishRefused(subject.updates(allowed))])
      expect(deployment.server.violations(user.user)).toContainEqual(expect.objectContaining({
        connection: `${user.user}-forger`,
        operation: "publish",
        subject: subject.updates(allowed)
      }))
    }
    // Nor can it answer requests in a replica's place.
    const answerer = await deployment.as(roles.orders, "orders-answerer")
    for (const asked of [subject.get(allowed), subject.unauthorized(allowed), subject.mint(allowed)]) {
      expect(await subscriptionRefusal(answerer.nc, asked)).toBe(subscribeRefused(asked))
    }
    // The leader's next broadcast arrives, and nothing came before it.
    const broadcast = await deployment.reset(allowed)
    await waitUntil(() => seen.length > 0, 10_000, "the leader's update did not arrive")
    expect(seen).toEqual([broadcast.version])
    expectReplicasRefusedNothing()
  })

  it("a consumer cannot send mint requests, operator or other", async () => {
    const requests = deployment.upstream.sim.counters().tokenRequests
    for (const user of [roles.tracking, roles.orders]) {
      const consumer = await deployment.as(user, `${user.user}-minter`)
      for (const reason of ["operator", "initial", "unauthorized-report"]) {
        const failed = reason === "unauthorized-report" ? { failedVersion: 1 } : {}
        const payload = JSON.stringify({ v: 1, reason, ...failed })
        const refused = await rejectionOf(consumer.nc.request(subject.mint(allowed), payload, { timeout: 5000 }))
        expect(refused.message).toBe(publishRefused(subject.mint(allowed)))
        expect(refused.millis).toBeLessThan(1000)
      }
    }
    expect(deployment.upstream.sim.counters().tokenRequests).toBe(requests)
    expectReplicasRefusedNothing()
  })

  it("a consumer cannot read either KV bucket, nor the inboxes the replicas' reads are answered on", async () => {
    // The buckets are there and readable with the replicas' rights...
    const replica = await deployment.as(roles.replica, "replica-rights-reader")
    const direct = { allow_direct: true }
    // The tokens bucket has a key per provider; the leases bucket one per replica (`members.<id>`).
    const keyIn: Record<string, string> = {}
    for (const bucket of buckets) {
      const kv = await new Kvm(replica.nc).open(bucket, direct)
      keyIn[bucket] = bucket.endsWith("-leases") ? await firstKey(kv, "members.>") : allowed
      expect(await kv.get(keyIn[bucket]!)).not.toBeNull()
    }
    // ...and not with a consumer's, even one allowed every provider: neither a direct get nor a stream message get.
    const consumer = await deployment.as(roles.orders, "orders-reader")
    expect((await rejectionOf(jetstreamManager(consumer.nc))).message).toBe(publishRefused("$JS.API.INFO"))
    for (const bucket of buckets) {
      for (const allow_direct of [true, false]) {
        const kv = new Kvm(consumer.nc).open(bucket, { allow_direct })
        const read = await rejectionOf(kv.then((opened) => opened.get(keyIn[bucket]!)))
        expect(read.message).toMatch(/^Permissions Violation for Publish to "\$JS\.API\./)
      }
      expect(await subscriptionRefusal(consumer.nc, `$KV.${bucket}.>`)).toBe(subscribeRefused(`$KV.${bucket}.>`))
    }
    const inboxes = ["_INBOX.>", `${roles.replica.inboxPrefix}.>`, `${roles.tracking.inboxPrefix}.>`, ">"]
    for (const inbox of inboxes) expect(await subscriptionRefusal(consumer.nc, inbox)).toBe(subscribeRefused(inbox))
    expectReplicasRefusedNothing()
  })

  it("a consumer cannot get a provider it is not allowed: the client fails at once with a typed error", async () => {
    const tracking = await TokenbusClient.connect(deployment.clientOptions(roles.tracking, "tracking-client-other"))
    try {
      const refused = await rejectionOf(tracking.getToken(other))
      // A permission the NATS user lacks, not an outage: the message names it and the subject.
      expect(refused.tag).toBe("NotPermitted")
      expect(refused.message).toContain(`lacks the publish permission for ${subject.get(other)}`)
      expect(refused.message).not.toContain("did not answer")
      expect(refused.millis).toBeLessThan(1000)
    } finally {
      await tracking.close()
    }
    const raw = await deployment.as(roles.tracking, "tracking-reporter")
    const report = await rejectionOf(raw.nc.request(subject.unauthorized(other), `{"v":1,"version":1}`))
    expect(report.message).toBe(publishRefused(subject.unauthorized(other)))
    expectReplicasRefusedNothing()
  })

  it("a consumer limited to project44 receives project44's updates and no other", async () => {
    const tracking = await deployment.as(roles.tracking, "tracking-listener")
    const everyone = await deployment.as(roles.orders, "orders-listener")
    const heard = (connection: RoleConnection, on: string) => {
      const subjects: Array<string> = []
      connection.nc.subscribe(on, { callback: (_, message) => void subjects.push(message.subject) })
      return subjects
    }
    const trackingHeard = heard(tracking, subject.updates(allowed))
    const everyoneHeard = heard(everyone, subject.updates("*"))
    for (const wider of [subject.updates(other), subject.updates("*"), `${prefix}.token.>`, `${prefix}.>`]) {
      expect(await subscriptionRefusal(tracking.nc, wider)).toBe(subscribeRefused(wider))
    }
    await Promise.all([tracking.nc.flush(), everyone.nc.flush()])
    await deployment.reset(other)
    await deployment.reset(allowed)
    const both = [subject.updates(other), subject.updates(allowed)]
    await waitUntil(() => both.every((on) => everyoneHeard.includes(on)), 10_000, "the updates were not broadcast")
    await waitUntil(() => trackingHeard.length > 0, 10_000, "project44's update did not reach tracking")
    expect(trackingHeard).toEqual([subject.updates(allowed)])
    expectReplicasRefusedNothing()
  })

  it("an operator can reset and read status with the CLI, and nothing more", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tokenbus-operator-"))
    try {
      const configFile = join(dir, "operator.json")
      const auth = { user: roles.operator.user, password: { env: roles.operator.passwordVariable } }
      const nats = { servers: [deployment.server.url], auth, inboxPrefix: roles.operator.inboxPrefix }
      await writeFile(configFile, JSON.stringify({ nats, prefix }))
      const env = { [roles.operator.passwordVariable]: deployment.password(roles.operator) }
      const resetRun = await runCli(["reset", allowed, "--config", configFile], env)
      expect(resetRun.code, resetRun.output).toBe(0)
      const version = Number(/new token, version (\d+)/.exec(resetRun.output)?.[1])
      const status = await runCli(["get", allowed, "--config", configFile], env)
      expect(status.code, status.output).toBe(0)
      expect(status.output).toContain(`"version": ${version}`)
      // status, watch and rotate read the buckets with the four read-only JetStream lines alone.
      const statusRun = await runCli(["status", "--json", "--config", configFile], env)
      expect(statusRun.code, statusRun.output).toBe(0)
      const shown = JSON.parse(statusRun.output) as {
        replicas: ReadonlyArray<unknown>
        providers: ReadonlyArray<{ provider: string; token: { version: number } | null }>
      }
      expect(shown.providers.find((provider) => provider.provider === allowed)?.token?.version).toBe(version)
      expect(shown.replicas).toHaveLength(deployment.replicas.filter((replica) => replica.running).length)
      const watchRun = await runCli(["watch", "--json", "--for", "2", "--config", configFile], env)
      expect(watchRun.code, watchRun.output).toBe(0)
      const rotateRun = await runCli(["rotate", allowed, "--json", "--config", configFile], env)
      expect(rotateRun.code, rotateRun.output).toBe(0)
      expect([resetRun.output, status.output].some((output) => output.includes(deployment.password(roles.operator))))
        .toBe(false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    expect(deployment.server.violations(roles.operator.user)).toEqual([])
    // Nothing more: no updates, no 401 reports, no JetStream, no buckets, no one else's inbox.
    const operatorConnection = await deployment.as(roles.operator, "operator-overreach")
    operatorConnection.nc.publish(subject.updates(allowed), "{}")
    await operatorConnection.nc.flush()
    await waitUntil(() => operatorConnection.refusals.length > 0, 5000, "the operator's update was not refused")
    expect(operatorConnection.refusals).toEqual([publishRefused(subject.updates(allowed))])
    const asked = operatorConnection.nc.request(subject.unauthorized(allowed), `{"v":1,"version":1}`)
    const report = await rejectionOf(asked)
    expect(report.message).toBe(publishRefused(subject.unauthorized(allowed)))
    expect((await rejectionOf(jetstreamManager(operatorConnection.nc))).message).toBe(publishRefused("$JS.API.INFO"))
    for (const denied of [`$KV.${prefix}-tokens.>`, `${roles.replica.inboxPrefix}.>`]) {
      expect(await subscriptionRefusal(operatorConnection.nc, denied)).toBe(subscribeRefused(denied))
    }
    expectReplicasRefusedNothing()
  })
})

/** The first key of `kv` that `filter` matches. */
const firstKey = async (kv: KV, filter: string): Promise<string> => {
  for await (const key of await kv.keys(filter)) return key
  throw new Error(`no key matches ${filter}`)
}
