// A client given the cluster's public key must use only tokens the cluster
// signed: a forged update is dropped (and logged at a bounded rate) while
// the real token stays, and a forged reply fails the request with
// UntrustedToken instead of handing the forgery out, or hanging. Without a
// key it takes unsigned tokens, but never one of another provider than it
// asked for or one with a version far ahead of its clock. Under TestClock on
// the in-memory NATS, the replica side played by plain handlers.
import { assert, describe, it } from "@effect/vitest"
import {
  generateSigningKeyPair,
  protocolVersion,
  type SigningKey,
  signingKeyFromPem,
  signToken,
  type Token,
  TokenReplyJson,
  TokenUpdateJson
} from "@tokenbus/core"
import type { MemoryNatsConnection } from "@tokenbus/nats/testing"
import { Effect, Result, Schema } from "effect"
import { droppedTokensMessage } from "../src/TokenClient.ts"
import { capturingLogs, type Line } from "./support/CapturedLogs.ts"
import { advance, clientOn, okReply, PROVIDER, replicaAnswering, subjects, tokenOf } from "./support/FakeReplica.ts"

const newKey = (): SigningKey => Result.getOrThrow(signingKeyFromPem(generateSigningKeyPair().privateKeyPem))
const cluster = newKey()
const forger = newKey()
const verifyKey = cluster.verifyKey.pem

const signedReply = (key: SigningKey, token: Token) =>
  Schema.encodeSync(TokenReplyJson)({ v: protocolVersion, ok: true, token, signature: signToken(key, token) })

const publishUpdate = (connection: MemoryNatsConnection, subjectProvider: string, token: Token, key?: SigningKey) =>
  connection.publish(
    subjects.updates(subjectProvider),
    Schema.encodeSync(TokenUpdateJson)({
      v: protocolVersion,
      token,
      ...(key === undefined ? {} : { signature: signToken(key, token) })
    })
  )

describe("TokenClient with verifyKey", () => {
  it.effect("uses a reply the cluster signed, and follows the updates it signs", () =>
    Effect.gen(function*() {
      const { connection, nats } = yield* replicaAnswering(() => signedReply(cluster, tokenOf(1)))
      const { client } = yield* clientOn(nats, "client", { verifyKey })
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      yield* publishUpdate(connection, PROVIDER, tokenOf(2), cluster)
      yield* advance(100)
      assert.strictEqual(client.peek(PROVIDER)?.version, 2)
    }))

  it.effect("fails a request with UntrustedToken when the reply is unsigned or signed by another key", () =>
    Effect.gen(function*() {
      const replies = [okReply(tokenOf(1)), signedReply(forger, tokenOf(1)), signedReply(cluster, tokenOf(1))]
      const { nats } = yield* replicaAnswering((n) => replies[n - 1]!)
      const { client } = yield* clientOn(nats, "client", { verifyKey })
      const unsigned = yield* Effect.flip(client.getToken(PROVIDER))
      assert.deepInclude(unsigned, { _tag: "UntrustedToken", provider: PROVIDER, reason: "unsigned" })
      assert.isUndefined(client.peek(PROVIDER))
      const forged = yield* Effect.flip(client.getToken(PROVIDER))
      assert.deepInclude(forged, { _tag: "UntrustedToken", reason: "bad-signature" })
      assert.isUndefined(client.peek(PROVIDER))
      // The next reply is the cluster's: asking again was enough.
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
    }))

  it.effect("drops forged updates whatever their version, keeps the real token, and logs once per 10 s", () => {
    const lines: Array<Line> = []
    return capturingLogs(
      lines,
      Effect.gen(function*() {
        const { connection, nats } = yield* replicaAnswering(() => signedReply(cluster, tokenOf(5)))
        const { client } = yield* clientOn(nats, "client", { verifyKey })
        assert.strictEqual((yield* client.getToken(PROVIDER)).version, 5)
        yield* publishUpdate(connection, PROVIDER, tokenOf(6))
        yield* publishUpdate(connection, PROVIDER, tokenOf(7), forger)
        yield* publishUpdate(connection, PROVIDER, tokenOf(Number.MAX_SAFE_INTEGER), cluster)
        yield* publishUpdate(connection, PROVIDER, tokenOf(8, { provider: "globex" }), cluster)
        yield* advance(100)
        assert.strictEqual(client.peek(PROVIDER)?.version, 5)
        const drops = () => lines.filter((line) => line.message === droppedTokensMessage)
        // The first drop is logged at once (with those that arrived in the same turn: how many did depends on
        // the scheduler); the rest of the 10 s are counted and logged as one line when the 10 s are over.
        assert.lengthOf(drops(), 1)
        yield* publishUpdate(connection, PROVIDER, tokenOf(10))
        yield* publishUpdate(connection, PROVIDER, tokenOf(11), forger)
        yield* advance(9_000)
        assert.lengthOf(drops(), 1)
        yield* advance(1_000)
        assert.lengthOf(drops(), 2)
        const counted = new Map<string, number>()
        for (const line of drops()) {
          for (const entry of String(line.annotations["reasons"]).split(" ")) {
            const [reason, count] = entry.split("=")
            counted.set(reason!, (counted.get(reason!) ?? 0) + Number(count))
          }
        }
        assert.deepStrictEqual(
          Object.fromEntries(counted),
          { unsigned: 2, "bad-signature": 2, "implausible-version": 1, "wrong-provider": 1 }
        )
        assert.strictEqual(drops().reduce((sum, line) => sum + Number(line.annotations["dropped"]), 0), 6)
        assert.strictEqual(client.peek(PROVIDER)?.version, 5)
        // A real update still gets through.
        yield* publishUpdate(connection, PROVIDER, tokenOf(12), cluster)
        yield* advance(100)
        assert.strictEqual(client.peek(PROVIDER)?.version, 12)
      })
    )
  })

  it.effect("refuses a reply signed by the cluster whose token is another provider's or far ahead", () =>
    Effect.gen(function*() {
      const replies = [
        signedReply(cluster, tokenOf(1, { provider: "globex" })),
        signedReply(cluster, tokenOf(Number.MAX_SAFE_INTEGER))
      ]
      const { nats } = yield* replicaAnswering((n) => replies[n - 1]!)
      const { client } = yield* clientOn(nats, "client", { verifyKey })
      assert.deepInclude(yield* Effect.flip(client.getToken(PROVIDER)), { reason: "wrong-provider" })
      assert.deepInclude(yield* Effect.flip(client.getToken(PROVIDER)), { reason: "implausible-version" })
      assert.isUndefined(client.peek(PROVIDER))
      assert.isUndefined(client.peek("globex"))
    }))

  it.effect("accepts several keys, for a cluster whose key is being replaced", () =>
    Effect.gen(function*() {
      const next = newKey()
      const { connection, nats } = yield* replicaAnswering(() => signedReply(cluster, tokenOf(1)))
      const { client } = yield* clientOn(nats, "client", { verifyKey: [verifyKey, next.verifyKey.pem] })
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      yield* publishUpdate(connection, PROVIDER, tokenOf(2), next)
      yield* advance(100)
      assert.strictEqual(client.peek(PROVIDER)?.version, 2)
    }))
})

describe("TokenClient without verifyKey", () => {
  it.effect("takes unsigned tokens, but never another provider's or one far ahead of its clock", () =>
    Effect.gen(function*() {
      const replies = [okReply(tokenOf(Number.MAX_SAFE_INTEGER)), okReply(tokenOf(1))]
      const { connection, nats } = yield* replicaAnswering((n) => replies[n - 1]!)
      const { client } = yield* clientOn(nats, "client")
      assert.deepInclude(yield* Effect.flip(client.getToken(PROVIDER)), { reason: "implausible-version" })
      assert.strictEqual((yield* client.getToken(PROVIDER)).version, 1)
      yield* publishUpdate(connection, PROVIDER, tokenOf(Number.MAX_SAFE_INTEGER))
      yield* publishUpdate(connection, PROVIDER, tokenOf(3, { provider: "globex" }))
      yield* advance(100)
      assert.strictEqual(client.peek(PROVIDER)?.version, 1)
      yield* publishUpdate(connection, PROVIDER, tokenOf(2))
      yield* advance(100)
      assert.strictEqual(client.peek(PROVIDER)?.version, 2)
    }))
})
