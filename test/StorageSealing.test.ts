// Tokens sealed at rest, on a real NATS with replica processes brokering an
// OAuth2 refresh-token grant (the simulator's), whose refresh token rotates
// into the carry at every mint:
// - no access token and no refresh token the upstream ever issued, nor the
//   configured one, appears anywhere in the tokens bucket's stream, any
//   revision included, yet consumers get the tokens and refreshes work;
// - the rotation of docs/key-rotation.md, run as written (the replicas
//   restarted one at a time with the ring [A, B] writing A, then writing B,
//   then [B]), keeps answering every request with the same token, costs no
//   upstream call, leaves the state sealed with B (a re-seal logged), and the
//   carry still refreshes afterwards.
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { sealedWith, sealingKeyFromBase64 } from "@tokenbus/core"
import { decodeStoredState, type Storage } from "@tokenbus/service"
import { type OAuth2RefreshSim, startOAuth2RefreshSim } from "@tokenbus/sim"
import {
  expectToken,
  getPayload,
  logMsg,
  randomPrefix,
  type ReplicaProcess,
  reportPayload,
  requestReply,
  startedReplicas,
  startReplica,
  startReplicas,
  waitUntil,
  type WireReply
} from "@tokenbus/testing"
import { randomBytes } from "node:crypto"
import { Redacted, Result } from "effect"
import { afterEach, describe, expect, inject, it } from "vitest"
import { testLease } from "./support/ServiceFixture.ts"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

const PROVIDER = "crm"
const KEYS = { "key-a": randomBytes(32).toString("base64"), "key-b": randomBytes(32).toString("base64") }
type KeyId = keyof typeof KEYS
const keyEnv = (id: KeyId) => `STORAGE_${id.replace("-", "_").toUpperCase()}`

/** The `storage` section: `ids` in the ring, `writeKey` sealing. */
const storage = (ids: ReadonlyArray<KeyId>, writeKey: KeyId) => ({
  keys: ids.map((id) => ({ id, key: { env: keyEnv(id) } })),
  writeKey
})

interface Deployment {
  readonly sim: OAuth2RefreshSim
  readonly prefix: string
  readonly env: Record<string, string>
  readonly configWith: (section: ReturnType<typeof storage>) => Record<string, unknown>
  readonly get: () => Promise<WireReply>
  readonly report: (version: number) => Promise<WireReply>
  readonly configuredRefreshToken: string
}

const connections: Array<NatsConnection> = []
const sims: Array<OAuth2RefreshSim> = []
afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.close()
  for (const sim of sims.splice(0)) await sim.close()
})

const deployment = async (): Promise<Deployment> => {
  const clientSecret = randomBytes(12).toString("hex")
  const sim = await startOAuth2RefreshSim({ clientId: "tokenbus", clientSecret })
  sims.push(sim)
  const configuredRefreshToken = sim.issueRefreshToken()
  const prefix = randomPrefix()
  const env = {
    CRM_SECRET: clientSecret,
    CRM_REFRESH_TOKEN: configuredRefreshToken,
    [keyEnv("key-a")]: KEYS["key-a"],
    [keyEnv("key-b")]: KEYS["key-b"]
  }
  const configWith = (section: ReturnType<typeof storage>) => ({
    nats: { servers: [inject("natsUrl")] },
    prefix,
    lease: testLease,
    requestTimeoutMillis: 4_000,
    storage: section,
    providers: [{
      id: PROVIDER,
      kind: "oauth2-refresh-token",
      tokenUrl: sim.tokenUrl,
      clientId: "tokenbus",
      clientSecret: { env: "CRM_SECRET" },
      clientAuth: "basic",
      refreshToken: { env: "CRM_REFRESH_TOKEN" },
      // Renewed on a 401 only, so every upstream call in these tests is one they asked for.
      lifecycle: { mode: "on-401" }
    }]
  })
  const nats = await connect({ servers: inject("natsUrl"), name: `${prefix}-wire` })
  connections.push(nats)
  const subject = (verb: string) => `${prefix}.token.${PROVIDER}.${verb}`
  return {
    sim,
    prefix,
    env,
    configWith,
    get: () => requestReply(nats, subject("get"), getPayload, 5_000),
    report: (version) => requestReply(nats, subject("unauthorized"), reportPayload(version), 10_000),
    configuredRefreshToken
  }
}

/** Every message of the tokens bucket's stream, every revision of every key, as one buffer. */
const bucketBytes = async (prefix: string): Promise<Buffer> => {
  const nats = await connect({ servers: inject("natsUrl") })
  try {
    const jsm = await jetstreamManager(nats)
    const stream = `KV_${prefix}-tokens`
    const { state } = await jsm.streams.info(stream)
    const messages: Array<Uint8Array> = []
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null)
      if (message !== null) messages.push(message.data)
    }
    expect(messages.length).toBeGreaterThan(0)
    return Buffer.concat(messages)
  } finally {
    await nats.close()
  }
}

/** The storage a replica holding key `id` reads the bucket with. */
const readerOf = (id: KeyId): Storage => {
  const key = Result.getOrThrow(sealingKeyFromBase64(id, Redacted.make(KEYS[id])))
  return { sealing: "sealed", ring: { write: key, keys: [key] } }
}

/** The provider's latest record in the bucket, as its text and as JSON. */
const latestRecord = async (prefix: string) => {
  const nats = await connect({ servers: inject("natsUrl") })
  try {
    const jsm = await jetstreamManager(nats)
    const message = await jsm.streams.getMessage(`KV_${prefix}-tokens`, {
      last_by_subj: `$KV.${prefix}-tokens.${PROVIDER}`
    })
    const text = message!.string()
    return { text, ...(JSON.parse(text) as { token: { accessToken: string; version: number }; carry: string }) }
  } finally {
    await nats.close()
  }
}

const expectNoSecretIn = (bytes: Buffer, secrets: ReadonlyArray<string>) => {
  const text = bytes.toString("utf8")
  const problems = secrets.flatMap((secret, index) =>
    [secret, Buffer.from(secret).toString("base64"), Buffer.from(secret).toString("base64url")]
      .filter((form) => text.includes(form))
      .map(() => `secret #${index + 1} is in the bucket`)
  )
  expect(problems).toEqual([])
}

const expectNoKeyInLogs = (replicas: ReadonlyArray<ReplicaProcess>) => {
  for (const replica of replicas) {
    for (const key of Object.values(KEYS)) expect(replica.output.includes(key), replica.name).toBe(false)
  }
}

/** Restarts `replicas` one at a time with `config`: SIGTERM, then a new process, ready before the next. */
const rollingRestart = async (
  replicas: Array<ReplicaProcess>,
  config: Record<string, unknown>,
  env: Record<string, string>,
  step: string
) => {
  for (let index = 0; index < replicas.length; index++) {
    const old = replicas[index]!
    await old.stop("SIGTERM")
    expect(old.exit?.code, `${old.name} exit code`).toBe(0)
    replicas[index] = await startReplica(config, { env, name: `${step}-${index + 1}` })
  }
}

/** Gets the token every 50 ms until stopped; every reply is kept. */
const getLoop = (get: () => Promise<WireReply>) => {
  const outcomes: Array<WireReply | Error> = []
  let running = true
  const loop = (async () => {
    while (running) {
      outcomes.push(await get().catch((error: unknown) => error as Error))
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  return {
    outcomes,
    stop: async () => {
      running = false
      await loop
      return outcomes
    }
  }
}

describe("tokens and carries sealed at rest", () => {
  useReplicaCleanup()

  it("no access or refresh token the upstream issued is in the bucket's bytes, and the carry still works", async () => {
    const deploy = await deployment()
    const replicas = await startReplicas(2, deploy.configWith(storage(["key-a"], "key-a")), { env: deploy.env })
    const first = await waitForToken(deploy)
    const second = expectToken(await deploy.report(first.version))
    expect(second.version).toBeGreaterThan(first.version)
    // Two refreshes, each rotating the refresh token into the carry; the second spent the first one's.
    expect(deploy.sim.counters().refreshes).toBe(2)
    expect(deploy.sim.counters().refreshReuseDetected).toBe(0)
    const issued = [...deploy.sim.issuedAccessTokens(), ...deploy.sim.issuedRefreshTokens()]
    expect(deploy.sim.issuedAccessTokens()).toEqual(expect.arrayContaining([first.accessToken, second.accessToken]))
    expect(issued.length).toBeGreaterThanOrEqual(4)

    const bytes = await bucketBytes(deploy.prefix)
    expectNoSecretIn(bytes, [...issued, deploy.configuredRefreshToken])
    const record = await latestRecord(deploy.prefix)
    expect(record.token.version).toBe(second.version)
    expect(sealedWith(record.token.accessToken)).toBe("key-a")
    expect(sealedWith(record.carry)).toBe("key-a")
    // Read as a replica reads it: the served token and the last refresh token the upstream issued are in there.
    const { state } = Result.getOrThrow(decodeStoredState(readerOf("key-a"), PROVIDER, record.text))
    expect(Redacted.value(state.token!.accessToken)).toBe(second.accessToken)
    expect(Redacted.value(state.carry!)).toContain(deploy.sim.issuedRefreshTokens().at(-1))
    expect(Result.isFailure(decodeStoredState(readerOf("key-b"), PROVIDER, record.text))).toBe(true)
    expectNoKeyInLogs(replicas)
  })

  it("rotating A to B as docs/key-rotation.md says: no failed request, no new mint, sealed with B", async () => {
    const deploy = await deployment()
    const { env } = deploy
    const replicas = await startReplicas(3, deploy.configWith(storage(["key-a"], "key-a")), { env })
    const first = await waitForToken(deploy)
    const calls = deploy.sim.counters().tokenRequests
    const gets = getLoop(deploy.get)

    await rollingRestart(replicas, deploy.configWith(storage(["key-a", "key-b"], "key-a")), env, "ring-ab")
    await rollingRestart(replicas, deploy.configWith(storage(["key-a", "key-b"], "key-b")), env, "write-b")
    const record = await latestRecord(deploy.prefix)
    expect(sealedWith(record.token.accessToken)).toBe("key-b")
    expect(sealedWith(record.carry)).toBe("key-b")
    const resealed = replicas.flatMap((replica) =>
      replica.lines(logMsg("re-sealed the provider's state with the write key", { provider: PROVIDER }))
    )
    expect(resealed.length).toBeGreaterThan(0)
    expect(resealed.at(-1)).toMatchObject({ oldKeyId: "key-a", newKeyId: "key-b" })
    await rollingRestart(replicas, deploy.configWith(storage(["key-b"], "key-b")), env, "ring-b")

    const outcomes = await gets.stop()
    const failed = outcomes.filter((outcome) => outcome instanceof Error || !outcome.ok)
    expect(failed).toEqual([])
    expect(outcomes.length).toBeGreaterThan(20)
    for (const outcome of outcomes) expect((outcome as WireReply & { ok: true }).token.version).toBe(first.version)
    expect(deploy.sim.counters().tokenRequests).toBe(calls)
    const replaced = startedReplicas().flatMap((replica) =>
      replica.lines((line) => line.msg.includes("will be replaced"))
    )
    expect(replaced).toEqual([])

    // The carry came through every re-seal: the next refresh spends the refresh token it holds.
    const next = expectToken(await deploy.report(first.version))
    expect(next.version).toBeGreaterThan(first.version)
    expect(deploy.sim.counters().refreshReuseDetected).toBe(0)
    expect(deploy.sim.counters().invalidGrant).toBe(0)
    expectNoSecretIn(await bucketBytes(deploy.prefix), [
      ...deploy.sim.issuedAccessTokens(),
      ...deploy.sim.issuedRefreshTokens(),
      deploy.configuredRefreshToken
    ])
    expectNoKeyInLogs(replicas)
  })
})

/** The first token, once a leader has minted it. */
const waitForToken = async (deploy: Deployment) => {
  let reply: WireReply | undefined
  await waitUntil(async () => {
    reply = await deploy.get().catch(() => undefined)
    return reply?.ok === true
  }, 20_000, "no first token")
  return expectToken(reply!)
}
