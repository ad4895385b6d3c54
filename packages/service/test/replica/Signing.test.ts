// Replicas given the cluster's key sign every token they send, replies and
// updates alike, and accept from the bus only what that key signed: a forged
// update (unsigned, signed by another key, a version far ahead, another
// provider's token) is dropped, logged once, and the real token is still
// served. A replica with no key says at start that its tokens are unsigned.
// The key is each replica's own: clusters with different keys run side by
// side in one process, each signing with its own. Real replicas on the
// in-memory NATS, under TestClock.
import { assert, describe, it } from "@effect/vitest"
import {
  generateSigningKeyPair,
  isSealedToken,
  makeSubjects,
  protocolVersion,
  type SigningKey,
  signingKeyFromPem,
  signToken,
  Token,
  TokenReplyJson,
  TokenUpdateJson,
  verifyToken
} from "@tokenbus/core"
import type { MemoryNatsConnection } from "@tokenbus/nats/testing"
import { Effect, Redacted, Result, Schema } from "effect"
import type { ServiceConfig } from "../../src/config/ServiceConfig.ts"
import { droppedUpdatesMessage } from "../../src/replica/followUpdates.ts"
import { unsignedWarning } from "../../src/replica/ReplicaContext.ts"
import { capturingLayer, type LogLine } from "../support/CapturedLogs.ts"
import {
  advance,
  configFor,
  makeMemoryNats,
  makeUpstream,
  PROVIDER,
  providerFor,
  reportUnauthorized,
  startReplica,
  subjects,
  tokenOf
} from "../support/MemoryCluster.ts"

const newKeyPem = () => generateSigningKeyPair().privateKeyPem
const keyOf = (pem: Redacted.Redacted<string>): SigningKey => Result.getOrThrow(signingKeyFromPem(pem))

/** Two replicas of one signed cluster, a consumer, and the first token. */
const signedCluster = (privateKey: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const nats = yield* makeMemoryNats
    const upstream = yield* makeUpstream
    const config: ServiceConfig = { ...configFor(providerFor(upstream)), signing: { privateKey } }
    const replicas = [yield* startReplica(nats, config, "replica-1"), yield* startReplica(nats, config, "replica-2")]
    // Stopped with the test: the process's signing key is theirs until then.
    yield* Effect.addFinalizer(() => Effect.forEach(replicas, (replica) => replica.stop, { discard: true }))
    const consumer = yield* nats.connection("consumer")
    yield* advance(1_500)
    return { nats, upstream, replicas, consumer }
  })

const decodeReply = Schema.decodeUnknownSync(TokenReplyJson)

/** A raw get on `prefix`'s subject; the reply's token (in clear) and signature. */
const signedGet = (consumer: MemoryNatsConnection, subject = subjects.get(PROVIDER)) =>
  consumer.request(subject, JSON.stringify({ v: protocolVersion }), 5_000).pipe(
    Effect.map((text) => {
      const reply = decodeReply(text)
      if (!reply.ok) return assert.fail(`expected a token, got ${text}`)
      if (isSealedToken(reply.token)) return assert.fail("expected a token in clear")
      return { token: reply.token, signature: reply.signature }
    })
  )

const forgedToken = (version: number, provider = PROVIDER) =>
  new Token({
    provider,
    version,
    accessToken: Redacted.make("forged"),
    tokenType: "Bearer",
    issuedAt: 0,
    reason: "operator"
  })

const updateOf = (token: Token, key?: SigningKey) =>
  Schema.encodeSync(TokenUpdateJson)({
    v: protocolVersion,
    token,
    ...(key === undefined ? {} : { signature: signToken(key, token) })
  })

describe("a replica with a signing key", () => {
  it.effect("signs its replies and its updates with the cluster's key", () =>
    Effect.gen(function*() {
      const privateKey = newKeyPem()
      const key = keyOf(privateKey)
      const { consumer } = yield* signedCluster(privateKey)
      const updates: Array<string> = []
      yield* consumer.subscribe(subjects.updates(PROVIDER), {}, (message) => void updates.push(message.string()))
      const first = yield* signedGet(consumer)
      assert.isTrue(verifyToken([key.verifyKey], first.token, first.signature))
      // The answer to a 401 report is a new token, broadcast by the leader: both signed.
      const second = tokenOf(yield* reportUnauthorized(consumer, first.token))
      yield* advance(100)
      const broadcast = updates.map((text) => Schema.decodeUnknownSync(TokenUpdateJson)(text))
        .find((update) => update.token.version === second.version)
      if (broadcast === undefined || isSealedToken(broadcast.token)) return assert.fail("no update in clear")
      assert.isTrue(verifyToken([key.verifyKey], broadcast.token, broadcast.signature))
      const again = yield* signedGet(consumer)
      assert.strictEqual(again.token.version, second.version)
      assert.isTrue(verifyToken([key.verifyKey], again.token, again.signature))
      assert.isFalse(verifyToken([keyOf(newKeyPem()).verifyKey], again.token, again.signature))
    }))

  it.effect("drops forged updates, keeps serving the real token, and logs it once", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function*() {
      const privateKey = newKeyPem()
      const key = keyOf(privateKey)
      const forger = keyOf(newKeyPem())
      const { consumer } = yield* signedCluster(privateKey)
      const real = yield* signedGet(consumer)
      const ahead = forgedToken(real.token.version + 1)
      yield* consumer.publish(subjects.updates(PROVIDER), updateOf(ahead))
      yield* consumer.publish(subjects.updates(PROVIDER), updateOf(ahead, forger))
      yield* consumer.publish(subjects.updates(PROVIDER), updateOf(forgedToken(Number.MAX_SAFE_INTEGER), key))
      yield* consumer.publish(subjects.updates(PROVIDER), updateOf(forgedToken(ahead.version, "globex"), key))
      yield* advance(100)
      // Both replicas (the queue group picks one per get) still serve the real token.
      for (let index = 0; index < 6; index++) {
        assert.strictEqual((yield* signedGet(consumer)).token.version, real.token.version)
      }
      // Each replica logs the first drop at once and the rest (if the scheduler did not fold them into
      // that line) at the end of its 10 s: the four are counted, in at most two lines per replica.
      yield* advance(10_000)
      const drops = lines.filter((line) => line.message === droppedUpdatesMessage)
      for (const replica of ["replica-1", "replica-2"]) {
        const own = drops.filter((line) => line.annotations["replica"] === replica)
        assert.isAtLeast(own.length, 1)
        assert.isAtMost(own.length, 2)
        const counted = new Map<string, number>()
        for (const line of own) {
          for (const entry of String(line.annotations["reasons"]).split(" ")) {
            const [reason, count] = entry.split("=")
            counted.set(reason!, (counted.get(reason!) ?? 0) + Number(count))
          }
        }
        const reasons = { unsigned: 1, "bad-signature": 1, "implausible-version": 1, "wrong-provider": 1 }
        assert.deepStrictEqual(Object.fromEntries(counted), reasons)
      }
      assert.notInclude(JSON.stringify(lines), "forged")
    }).pipe(Effect.provide(capturingLayer(lines)))
  })
})

describe("a replica without a signing key", () => {
  it.effect("warns at start that its tokens are unsigned, and sends them without a signature", () => {
    const lines: Array<LogLine> = []
    return Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const upstream = yield* makeUpstream
      const replica = yield* startReplica(nats, configFor(providerFor(upstream)), "replica-1")
      yield* Effect.addFinalizer(() => replica.stop)
      const consumer = yield* nats.connection("consumer")
      yield* advance(1_500)
      const reply = yield* signedGet(consumer)
      assert.isUndefined(reply.signature)
      const warned = lines.filter((line) => line.message === unsignedWarning)
      assert.deepStrictEqual(warned.map((line) => line.annotations["replica"]), ["replica-1"])
    }).pipe(Effect.provide(capturingLayer(lines)))
  })
})

describe("replicas with different keys in one process", () => {
  it.effect("each sign with their own key, at the same time", () =>
    Effect.gen(function*() {
      const nats = yield* makeMemoryNats
      const upstream = yield* makeUpstream
      // Two clusters (prefixes) of one process, each with a key of its own.
      const bluePem = newKeyPem()
      const greenPem = newKeyPem()
      const clusters = [{ prefix: "blue", pem: bluePem }, { prefix: "green", pem: greenPem }]
      for (const { pem, prefix } of clusters) {
        const config: ServiceConfig = { ...configFor(providerFor(upstream)), prefix, signing: { privateKey: pem } }
        const replica = yield* startReplica(nats, config, `${prefix}-1`)
        yield* Effect.addFinalizer(() => replica.stop)
      }
      const consumer = yield* nats.connection("consumer")
      yield* advance(1_500)
      const blue = keyOf(bluePem).verifyKey
      const green = keyOf(greenPem).verifyKey
      for (let round = 0; round < 2; round++) {
        const fromBlue = yield* signedGet(consumer, makeSubjects("blue").get(PROVIDER))
        const fromGreen = yield* signedGet(consumer, makeSubjects("green").get(PROVIDER))
        assert.isTrue(verifyToken([blue], fromBlue.token, fromBlue.signature))
        assert.isFalse(verifyToken([green], fromBlue.token, fromBlue.signature))
        assert.isTrue(verifyToken([green], fromGreen.token, fromGreen.signature))
        assert.isFalse(verifyToken([blue], fromGreen.token, fromGreen.signature))
      }
    }))
})
