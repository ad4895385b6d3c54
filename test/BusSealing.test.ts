// Tokens sealed on the bus, on a real NATS with replica processes configured
// with a bus key (`startCluster({ bus: true })`: a `bus` section with a key of
// the cluster's own), brokering the simulated project44:
// - a raw NATS subscriber on the updates subject and a raw requester never
//   see, in the bytes they receive, any access token the upstream issued,
//   yet read the provider and version;
// - a TokenClient given the key gets the real token (the one the upstream
//   says it issued, which its resource accepts), and the next one a 401
//   report brings, broadcast sealed;
// - a TokenClient without the key fails with UnsealableToken.
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { TokenClient, type TokenClientError, type TokenClientOptions } from "@tokenbus/client"
import {
  getPayload,
  PROVIDER,
  randomPrefix,
  type ReplicaCluster,
  requestReply,
  startCluster
} from "@tokenbus/testing"
import { Effect, Exit, ManagedRuntime, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest"
import { testLease } from "./support/ServiceFixture.ts"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

interface Deployment {
  readonly cluster: ReplicaCluster
  readonly wire: NatsConnection
  /** Every payload the raw subscriber received on the updates subject, as text. */
  readonly updates: Array<string>
}

let deployment: Deployment | undefined

const deployed = (): Deployment => {
  if (deployment === undefined) throw new Error("the deployment did not start")
  return deployment
}

/** A TokenClient of the deployment with `options`; closed with the test. */
const clientOf = (options: Partial<TokenClientOptions>) => {
  const { cluster } = deployed()
  const runtime = ManagedRuntime.make(TokenClient.layerConnect({
    nats: { servers: [inject("natsUrl")], name: `${cluster.prefix}-client` },
    prefix: cluster.prefix,
    verifyKey: cluster.verifyKey,
    ...options
  }))
  onTestFinished(() => runtime.dispose())
  return <A>(use: (client: TokenClient["Service"]) => Effect.Effect<A, TokenClientError>) =>
    runtime.runPromiseExit(Effect.gen(function*() {
      return yield* use(yield* TokenClient)
    }))
}

/** Fails naming the access token found in `text` among those the upstream issued, if any. */
const expectNoIssuedToken = (text: string) => {
  const issued = deployed().cluster.sim.issuedTokens()
  expect(issued.length).toBeGreaterThan(0)
  for (const token of issued) expect(text.includes(token), "an access token in clear on the bus").toBe(false)
}

describe("replicas with a bus key", () => {
  useReplicaCleanup()

  beforeAll(async () => {
    // The prefix is chosen here so the raw subscriber is there before the replicas' first update.
    const prefix = randomPrefix()
    const wire = await connect({ servers: inject("natsUrl"), name: `${prefix}-wire` })
    const updates: Array<string> = []
    const subscription = wire.subscribe(`${prefix}.token.${PROVIDER}.updates`)
    void (async () => {
      for await (const message of subscription) updates.push(message.string())
    })()
    await wire.flush()
    const cluster = await startCluster({
      natsUrl: inject("natsUrl"),
      replicas: 2,
      lease: testLease,
      bus: true,
      prefix,
      connection: wire
    })
    deployment = { cluster, wire, updates }
  })

  afterAll(async () => {
    await deployment?.cluster.stop()
    await deployment?.wire.close()
  })

  it("send nothing a raw subscriber or requester can use, and a client with the key gets the real tokens", async () => {
    const { cluster, updates, wire } = deployed()
    const upstream = cluster.upstream
    const [busKey] = cluster.busKeys
    expect(busKey?.id).toBe("bus-1")
    const reply = await requestReply(wire, cluster.subjects.get(), getPayload, 10_000)
    if (!reply.ok) throw new Error(`expected a token, got ${JSON.stringify(reply.error)}`)
    const raw = reply.token as unknown as Record<string, unknown>
    expect(raw["accessToken"]).toBeUndefined()
    expect(String(raw["sealedAccessToken"])).toMatch(/^a256gcm\.bus-1\./)
    expect(raw["provider"]).toBe(PROVIDER)
    expectNoIssuedToken(JSON.stringify(reply))

    const run = clientOf({ busKeys: cluster.busKeys })
    const first = await run((client) => client.getToken(PROVIDER))
    if (Exit.isFailure(first)) throw new Error(`the client with the key failed: ${String(first.cause)}`)
    expect(first.value.version).toBe(raw["version"])
    expect(Redacted.value(first.value.accessToken)).toBe(upstream.sim.issuedTokens().at(-1))
    const resourceOk = upstream.sim.counters().resourceOk
    const fetched = await run((client) => Effect.orDie(client.fetch(PROVIDER, upstream.sim.resourceUrl)))
    expect(Exit.isSuccess(fetched) && fetched.value.status).toBe(200)
    expect(upstream.sim.counters().resourceOk).toBe(resourceOk + 1)

    // A 401 report: the leader mints the next token and broadcasts it, sealed.
    const next = await run((client) => client.reportUnauthorized(first.value))
    if (Exit.isFailure(next)) throw new Error(`the report failed: ${String(next.cause)}`)
    expect(next.value.version).toBeGreaterThan(first.value.version)
    expect(Redacted.value(next.value.accessToken)).toBe(upstream.sim.issuedTokens().at(-1))
    await expect.poll(() => updates.some((text) => JSON.parse(text).token.version === next.value.version)).toBe(true)
    expect(updates.every((text) => JSON.parse(text).token.accessToken === undefined)).toBe(true)
    expectNoIssuedToken(updates.join("\n"))
    const held = await run((client) => Effect.sync(() => client.peek(PROVIDER)))
    expect(Exit.isSuccess(held) && held.value?.version).toBe(next.value.version)
    cluster.expectNoSecretsInLogs()
  })

  it("a client without the key fails with UnsealableToken", async () => {
    const run = clientOf({})
    const exit = await run((client) => client.getToken(PROVIDER))
    if (Exit.isSuccess(exit)) throw new Error("a client without the bus key got a token")
    const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")?.error
    expect(error).toMatchObject({ _tag: "UnsealableToken", provider: PROVIDER, keyId: "bus-1" })
  })
})
