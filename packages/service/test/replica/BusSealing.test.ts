// Replicas with a bus key seal the access token of every token they send:
// the raw bytes of a reply and of an update hold the provider and version,
// never the token, and a consumer holding the key opens exactly the token the
// upstream issued (one without it cannot). The replicas open what comes
// sealed from each other: a follower keeps the leader's sealed broadcast, and
// its question to the leader is answered sealed and opened. Real replicas on
// the in-memory NATS, under TestClock.
import { assert, describe, it } from "@effect/vitest"
import {
  generateSigningKeyPair,
  protocolVersion,
  signingKeyFromPem,
  TokenCache,
  TokenReplyJson
} from "@tokenbus/core"
import { Effect, Redacted, Result, Schema } from "effect"
import type { ServiceConfig } from "../../src/config/ServiceConfig.ts"
import {
  advance,
  configFor,
  lockHolder,
  makeMemoryNats,
  makeUpstream,
  PROVIDER,
  providerFor,
  subjects
} from "../support/MemoryCluster.ts"
import { startReplicaParts } from "../support/ReplicaParts.ts"
import { testKey } from "../support/StorageKeys.ts"

const busKey = testKey("bus-1")
const signingPem = generateSigningKeyPair().privateKeyPem
const verifyKey = Result.getOrThrow(signingKeyFromPem(signingPem)).verifyKey
const decodeReply = Schema.decodeUnknownSync(TokenReplyJson)

/** Two replicas sealing with `busKey`, a consumer whose raw updates are kept, and the first token minted. */
const sealedCluster = Effect.gen(function*() {
  const nats = yield* makeMemoryNats
  const upstream = yield* makeUpstream
  const config: ServiceConfig = {
    ...configFor(providerFor(upstream)),
    signing: { privateKey: signingPem },
    bus: { write: busKey, keys: [busKey] }
  }
  const replicas = [
    yield* startReplicaParts(nats, config, "replica-1"),
    yield* startReplicaParts(nats, config, "replica-2")
  ]
  const consumer = yield* nats.connection("consumer")
  const updates: Array<string> = []
  yield* consumer.subscribe(subjects.updates(PROVIDER), {}, (message) => void updates.push(message.string()))
  yield* advance(1_500)
  return { consumer, replicas, updates }
})

/** What a client given the key holds. */
const keyHolder = () => new TokenCache({ busKeys: [busKey], verifyKeys: [verifyKey], now: () => 0 })

const secretOf = (cache: TokenCache) => {
  const held = cache.get(PROVIDER)
  return held === undefined ? undefined : Redacted.value(held.accessToken)
}

describe("replicas with a bus key", () => {
  it.effect("send replies and updates with the access token sealed, which the key opens", () =>
    Effect.gen(function*() {
      const { consumer, replicas, updates } = yield* sealedCluster
      const text = yield* consumer.request(subjects.get(PROVIDER), JSON.stringify({ v: protocolVersion }), 5_000)
      // The upstream's first token is `token-1`: nowhere in the bytes, while the rest can be read.
      assert.notInclude(text, "token-1")
      const raw = JSON.parse(text)
      assert.notProperty(raw.token, "accessToken")
      assert.match(raw.token.sealedAccessToken, /^a256gcm\.bus-1\./)
      assert.strictEqual(raw.token.provider, PROVIDER)

      const reply = decodeReply(text)
      if (!reply.ok) return assert.fail(`expected a token, got ${text}`)
      const holder = keyHolder()
      assert.strictEqual(holder.offerSigned(PROVIDER, reply.token, reply.signature), "kept")
      assert.strictEqual(secretOf(holder), "token-1")
      const without = new TokenCache({ verifyKeys: [verifyKey], now: () => 0 })
      assert.strictEqual(without.offerSigned(PROVIDER, reply.token, reply.signature), "sealed-unknown-key")

      // An operator's mint: the leader answers and broadcasts token-2, sealed both times.
      const operator = JSON.stringify({ v: protocolVersion, reason: "operator" })
      const minted = yield* consumer.request(subjects.mint(PROVIDER), operator, 5_000)
      yield* advance(100)
      assert.notInclude(minted, "token-2")
      const update = updates.find((each) => JSON.parse(each).token.version > raw.token.version)
      if (update === undefined) return assert.fail("no update of the new token")
      assert.notInclude(update, "token-2")
      assert.notProperty(JSON.parse(update).token, "accessToken")
      assert.strictEqual(holder.offerUpdate(PROVIDER, update), "kept")
      assert.strictEqual(secretOf(holder), "token-2")

      // Both replicas hold it in clear: the follower opened the leader's sealed broadcast.
      for (const replica of replicas) assert.strictEqual(secretOf(replica.cache), "token-2", replica.id)
    }))

  it.effect("open the leader's sealed answer to a replica's question", () =>
    Effect.gen(function*() {
      const { consumer, replicas } = yield* sealedCluster
      const leader = yield* lockHolder(consumer)
      const follower = replicas.find((replica) => replica.id !== leader)
      if (follower === undefined) return assert.fail("no follower")
      const answer = yield* follower.askLeader.ask(PROVIDER, { v: protocolVersion, reason: "initial" })
      assert.strictEqual(Redacted.value(answer.token.accessToken), "token-1")
    }))
})
