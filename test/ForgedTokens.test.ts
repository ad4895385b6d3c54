// Anyone who may publish on a provider's updates subject, or answer a
// request, can send a token. Against real replica processes (signing with
// their cluster's key) on the run's NATS server: forged updates (unsigned,
// signed by another key, the real key's signature on a version of 2^53 - 1,
// another provider's token on this provider's subject) are adopted by
// neither a replica nor a client given the cluster's public key; both keep
// serving the real token and log the drops once, with a count. A forged
// reply fails a verifying client's request with UntrustedToken at once.
import { droppedTokensMessage, TokenClient, type TokenClientError } from "@tokenbus/client"
import { generateSigningKeyPair, type SigningKey, signingKeyFromPem, signToken, Token } from "@tokenbus/core"
import {
  logMsg,
  PROVIDER,
  randomPrefix,
  type ReplicaCluster,
  sleep,
  waitUntil,
  type WireToken
} from "@tokenbus/testing"
import { Cause, Effect, Exit, Layer, Logger, ManagedRuntime, Redacted, References, Result } from "effect"
import { describe, expect, inject, it, onTestFinished } from "vitest"
import { useReplicaCluster } from "./support/ServiceFixture.ts"

const droppedUpdatesMessage = "dropped token updates that failed verification; the token held is kept"

interface Line {
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

const keyOf = (pem: Redacted.Redacted<string>): SigningKey => Result.getOrThrow(signingKeyFromPem(pem))

const tokenOf = (wire: WireToken): Token =>
  new Token({
    provider: wire.provider,
    version: wire.version,
    accessToken: Redacted.make(wire.accessToken),
    tokenType: wire.tokenType,
    issuedAt: wire.issuedAt,
    reason: wire.reason as Token["reason"],
    ...(wire.expiresAt === undefined ? {} : { expiresAt: wire.expiresAt })
  })

/** The wire form of `token` with the fields around it, signed by `key` when given. */
const wire = (fields: object, token: Token, key?: SigningKey) =>
  JSON.stringify({
    ...fields,
    token: { ...token, accessToken: Redacted.value(token.accessToken) },
    ...(key === undefined ? {} : { signature: signToken(key, token) })
  })
const update = (token: Token, key?: SigningKey) => wire({ v: 1 }, token, key)
const reply = (token: Token, key?: SigningKey) => wire({ v: 1, ok: true }, token, key)

/** A TokenClient of the cluster (verifying with `verifyKey`), its log lines captured; closed with the test. */
const clientOf = (cluster: { readonly prefix: string }, verifyKey: string, requestTimeoutMillis = 7_000) => {
  const lines: Array<Line> = []
  const capture = Logger.make(({ fiber, message }) => {
    const parts = Array.isArray(message) ? message : [message]
    const annotations = { ...fiber.getRef(References.CurrentLogAnnotations) }
    lines.push({ message: parts.map(String).join(" "), annotations })
  })
  const layer = TokenClient.layerConnect({
    nats: { servers: [inject("natsUrl")], name: "forged-tokens-client" },
    prefix: cluster.prefix,
    verifyKey,
    requestTimeoutMillis
  }).pipe(Layer.provide(Logger.layer([capture])))
  const runtime = ManagedRuntime.make(layer)
  onTestFinished(() => runtime.dispose())
  const run = <A>(use: (client: TokenClient["Service"]) => Effect.Effect<A, TokenClientError>) =>
    runtime.runPromise(Effect.gen(function*() {
      return yield* use(yield* TokenClient)
    }))
  return { lines, run }
}

const droppedIn = (counts: ReadonlyArray<unknown>) => counts.reduce<number>((sum, count) => sum + Number(count), 0)

/** Waits until the replicas each counted `expected` dropped updates; returns the lines per replica. */
const replicaDrops = async (cluster: ReplicaCluster, expected: number) => {
  const linesOf = () =>
    cluster.running.map((replica) => replica.lines(logMsg(droppedUpdatesMessage)).map((line) => line["dropped"]))
  // A first line at once; drops that came after it are counted in one line 10 s later.
  await waitUntil(() => linesOf().every((counts) => droppedIn(counts) === expected), 15_000, "replicas' drop counts")
  return linesOf()
}

describe("tokens on the bus are the cluster's", () => {
  const fixture = useReplicaCluster({ replicas: 2 })

  it("a forged update is adopted by neither a replica nor a verifying client, and each logs it once", async () => {
    const { cluster } = fixture
    const real = await cluster.firstToken()
    const client = clientOf(cluster, cluster.verifyKey)
    expect((await client.run((c) => c.getToken(PROVIDER))).version).toBe(real.version)

    const clusterKey = keyOf(Redacted.make(cluster.signingKeys.privateKeyPem))
    const forger = keyOf(generateSigningKeyPair().privateKeyPem)
    const ahead = new Token({ ...tokenOf(real), version: real.version + 1000, accessToken: Redacted.make("forged") })
    const subject = cluster.subjects.updates()
    for (
      const forged of [
        update(ahead),
        update(ahead, forger),
        update(new Token({ ...ahead, version: Number.MAX_SAFE_INTEGER }), clusterKey),
        update(new Token({ ...ahead, provider: "other" }), clusterKey)
      ]
    ) cluster.nats.publish(subject, forged)
    await cluster.nats.flush()
    await sleep(1_000)

    // Every replica, and the client, still hold the real token.
    for (let index = 0; index < 6; index++) expect((await cluster.getToken()).version).toBe(real.version)
    expect(await client.run((c) => Effect.sync(() => c.peek(PROVIDER)?.version))).toBe(real.version)
    expect(Redacted.value((await client.run((c) => c.getToken(PROVIDER))).accessToken)).toBe(real.accessToken)

    // Each logged it at once, in one line; at most a second one, 10 s on, for drops after the first.
    const perReplica = await replicaDrops(cluster, 4)
    expect(perReplica).toHaveLength(2)
    for (const counts of perReplica) expect(counts.length).toBeLessThanOrEqual(2)
    const clientLines = () => client.lines.filter((line) => line.message === droppedTokensMessage)
    await waitUntil(() => droppedIn(clientLines().map((line) => line.annotations["dropped"])) === 4, 15_000, "client")
    expect(clientLines().length).toBeLessThanOrEqual(2)
    expect(clientLines()[0]?.annotations["providers"]).toBe(PROVIDER)
    for (const line of [...cluster.linesOfAll(logMsg(droppedUpdatesMessage)), ...client.lines]) {
      expect(JSON.stringify(line)).not.toContain("forged")
    }
  })

  it("a verifying client takes the cluster's signed replies and updates", async () => {
    const { cluster } = fixture
    const held = await cluster.firstToken().then(() => cluster.getToken())
    const client = clientOf(cluster, cluster.verifyKey)
    expect((await client.run((c) => c.getToken(PROVIDER))).version).toBe(held.version)
    // A new token the client did not ask for: it can come only by the (signed) update.
    const reply = await cluster.reportUnauthorized(held.version)
    if (!reply.ok) throw new Error(`report failed: ${JSON.stringify(reply.error)}`)
    expect(reply.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/)
    await waitUntil(
      async () => (await client.run((c) => Effect.sync(() => c.peek(PROVIDER)?.version))) === reply.token.version,
      10_000,
      "the client did not take the new token's update"
    )
    expect(client.lines.filter((line) => line.message === droppedTokensMessage)).toEqual([])
  })

  it("a forged reply fails a verifying client's request with UntrustedToken, at once", async () => {
    const { cluster } = fixture
    const real = tokenOf(await cluster.getToken())
    const clusterKey = keyOf(Redacted.make(cluster.signingKeys.privateKeyPem))
    const forger = keyOf(generateSigningKeyPair().privateKeyPem)
    // A prefix only the forger answers, in the replicas' queue group, so the client's request reaches it.
    const prefix = randomPrefix()
    const replies = [
      reply(real),
      reply(real, forger),
      reply(new Token({ ...real, version: Number.MAX_SAFE_INTEGER }), clusterKey)
    ]
    let answered = 0
    const forging = cluster.nats.subscribe(`${prefix}.token.${PROVIDER}.get`, {
      queue: "tokenbus-replicas",
      callback: (_, message) => void message.respond(replies[answered++]!)
    })
    onTestFinished(() => forging.unsubscribe())
    await cluster.nats.flush()

    const client = clientOf({ prefix }, cluster.verifyKey, 30_000)
    for (const reason of ["unsigned", "bad-signature", "implausible-version"]) {
      const started = Date.now()
      const exit = await client.run((c) => Effect.exit(c.getToken(PROVIDER)))
      expect(Date.now() - started).toBeLessThan(5_000)
      if (Exit.isSuccess(exit)) throw new Error(`a forged reply was taken (${reason})`)
      expect(exit.cause.reasons.find(Cause.isFailReason)?.error).toMatchObject({
        _tag: "UntrustedToken",
        provider: PROVIDER,
        reason
      })
    }
    expect(answered).toBe(3)
    expect(await client.run((c) => Effect.sync(() => c.peek(PROVIDER)))).toBeUndefined()
  })
})
