// A client given the cluster's bus keys opens the tokens the cluster sealed,
// in replies and updates, and hands out the real access token; one without
// the key a token names fails the request with UnsealableToken (saying which
// key) instead of handing out anything, and drops such an update, logged at
// a bounded rate. During a rotation it opens what either key sealed. Under
// TestClock on the in-memory NATS, the replica side played by plain handlers
// sending what a sealing replica sends.
import { randomBytes } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import {
  generateSigningKeyPair,
  protocolVersion,
  type SealingKey,
  sealingKey,
  sealToken,
  signingKeyFromPem,
  signToken,
  type Token,
  TokenReplyJson,
  TokenUpdateJson
} from "@tokenbus/core"
import type { MemoryNatsConnection } from "@tokenbus/nats/testing"
import { Effect, Redacted, Result, Schema } from "effect"
import { droppedTokensMessage } from "../src/TokenClient.ts"
import type { BusKeyInput } from "../src/TokenClientOptions.ts"
import { capturingLogs, type Line } from "./support/CapturedLogs.ts"
import { advance, clientOn, PROVIDER, replicaAnswering, subjects, tokenOf } from "./support/FakeReplica.ts"

const cluster = Result.getOrThrow(signingKeyFromPem(generateSigningKeyPair().privateKeyPem))
const verifyKey = cluster.verifyKey.pem

const busKey = (id: string) => {
  const material = randomBytes(32)
  const key: SealingKey = Result.getOrThrow(sealingKey(id, material))
  const input: BusKeyInput = { id, key: Redacted.make(material.toString("base64")) }
  return { key, input }
}

const sealed = (key: SealingKey, token: Token) => Result.getOrThrow(sealToken(key, randomBytes(12), token))

const sealedReply = (key: SealingKey, token: Token) =>
  Schema.encodeSync(TokenReplyJson)({
    v: protocolVersion,
    ok: true,
    token: sealed(key, token),
    signature: signToken(cluster, token)
  })

const publishSealed = (connection: MemoryNatsConnection, key: SealingKey, token: Token) =>
  connection.publish(
    subjects.updates(PROVIDER),
    Schema.encodeSync(TokenUpdateJson)({
      v: protocolVersion,
      token: sealed(key, token),
      signature: signToken(cluster, token)
    })
  )

const secretOf = (token: Token | undefined) => (token === undefined ? undefined : Redacted.value(token.accessToken))

describe("TokenClient with busKeys", () => {
  it.effect("opens a sealed reply and sealed updates, and hands out the real access token", () =>
    Effect.gen(function*() {
      const bus = busKey("bus-1")
      const { connection, nats } = yield* replicaAnswering(() => sealedReply(bus.key, tokenOf(1)))
      const { client } = yield* clientOn(nats, "client", { verifyKey, busKeys: [bus.input] })
      assert.strictEqual(secretOf(yield* client.getToken(PROVIDER)), "secret-1")
      yield* publishSealed(connection, bus.key, tokenOf(2))
      yield* advance(100)
      assert.strictEqual(secretOf(client.peek(PROVIDER)), "secret-2")
    }))

  it.effect("opens, during a rotation, what the old key and what the new key sealed", () =>
    Effect.gen(function*() {
      const old = busKey("bus-1")
      const next = busKey("bus-2")
      const { connection, nats } = yield* replicaAnswering(() => sealedReply(old.key, tokenOf(1)))
      const { client } = yield* clientOn(nats, "client", { verifyKey, busKeys: [old.input, next.input] })
      assert.strictEqual(secretOf(yield* client.getToken(PROVIDER)), "secret-1")
      yield* publishSealed(connection, next.key, tokenOf(2))
      yield* advance(100)
      assert.strictEqual(secretOf(client.peek(PROVIDER)), "secret-2")
    }))
})

describe("TokenClient without the bus key a token names", () => {
  it.effect("fails the request with UnsealableToken, naming the key, and holds nothing", () =>
    Effect.gen(function*() {
      const bus = busKey("bus-1")
      const { nats } = yield* replicaAnswering(() => sealedReply(bus.key, tokenOf(1)))
      const none = yield* clientOn(nats, "without-keys", { verifyKey })
      const error = yield* Effect.flip(none.client.getToken(PROVIDER))
      assert.deepInclude(error, { _tag: "UnsealableToken", provider: PROVIDER, reason: "sealed-unknown-key" })
      assert.strictEqual(error._tag === "UnsealableToken" ? error.keyId : undefined, "bus-1")
      assert.include(error.message, "bus key bus-1")
      assert.isUndefined(none.client.peek(PROVIDER))
      // Another key under the same id does not open it either.
      const impostor = yield* clientOn(nats, "impostor", { verifyKey, busKeys: [busKey("bus-1").input] })
      const rejected = yield* Effect.flip(impostor.client.getToken(PROVIDER))
      assert.deepInclude(rejected, { _tag: "UnsealableToken", reason: "sealed-rejected", keyId: "bus-1" })
      assert.isUndefined(impostor.client.peek(PROVIDER))
    }))

  it.effect("drops sealed updates it cannot open, keeps what it holds, and logs them at a bounded rate", () => {
    const lines: Array<Line> = []
    return capturingLogs(lines, Effect.gen(function*() {
      const old = busKey("bus-1")
      const unknown = busKey("bus-2")
      const { connection, nats } = yield* replicaAnswering(() => sealedReply(old.key, tokenOf(1)))
      const { client } = yield* clientOn(nats, "client", { verifyKey, busKeys: [old.input] })
      assert.strictEqual(secretOf(yield* client.getToken(PROVIDER)), "secret-1")
      for (const version of [2, 3, 4]) yield* publishSealed(connection, unknown.key, tokenOf(version))
      yield* advance(100)
      assert.strictEqual(secretOf(client.peek(PROVIDER)), "secret-1")
      // One line for the three, which arrived together; nothing more while none arrive.
      yield* advance(20_000)
      const drops = lines.filter((line) => line.message === droppedTokensMessage)
      assert.deepStrictEqual(drops.map((line) => line.annotations["reasons"]), ["sealed-unknown-key=3"])
      assert.notInclude(JSON.stringify(lines), "secret-")
    }))
  })
})
