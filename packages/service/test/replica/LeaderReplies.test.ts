// A replica that asks the leader adopts the token of the reply, and then
// serves it signed with the cluster's key: so the reply must pass the same
// checks as an update from the bus. Whoever may subscribe to the mint subject
// could answer first (a stolen replica credential), and an unsigned token, one
// signed by another key, or another provider's would otherwise come out of
// this replica signed by the cluster. The leader here is a stand-in
// answering on the mint subject of the in-memory NATS; the replica's side is
// the real AskLeader with a real cache.
import { assert, describe, it } from "@effect/vitest"
import { generateSigningKeyPair, type SigningKey, signingKeyFromPem, Token, TokenCache } from "@tokenbus/core"
import { makeMemoryNats } from "@tokenbus/nats/testing"
import { Effect, Redacted, Result } from "effect"
import { makeAskLeader } from "../../src/replica/AskLeader.ts"
import { makeReplies } from "../../src/replica/Replies.ts"
import { PROVIDER, subjects } from "../support/MemoryCluster.ts"

const newKey = (): SigningKey => Result.getOrThrow(signingKeyFromPem(generateSigningKeyPair().privateKeyPem))
const cluster = newKey()

const tokenOf = (version: number, provider = PROVIDER) =>
  new Token({
    provider,
    version,
    accessToken: Redacted.make(`token-${version}`),
    tokenType: "Bearer",
    issuedAt: 1_000,
    reason: "unauthorized-report"
  })

/** The replica's AskLeader, with a stand-in leader answering every mint request with `reply`. */
const askingWith = (reply: string | Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    const nats = yield* makeMemoryNats
    const leader = yield* nats.connection("leader")
    yield* leader.serve<never>(subjects.mint(PROVIDER), {}, (message) => void message.respond(reply))
    const cache = new TokenCache({ verifyKeys: [cluster.verifyKey], now: () => 2_000 })
    const ask = makeAskLeader({ nats: yield* nats.connection("replica"), subjects, cache, requestTimeoutMillis: 1_000 })
    const answer = yield* ask(PROVIDER, { v: 1, reason: "unauthorized-report", failedVersion: 1 }).pipe(Effect.result)
    return { answer, cache }
  }))

const refused = [
  ["unsigned", makeReplies().answerReply({ token: tokenOf(5) })],
  ["signed by another key", makeReplies({ signing: newKey() }).answerReply({ token: tokenOf(5) })],
  ["another provider's", makeReplies({ signing: cluster }).answerReply({ token: tokenOf(5, "globex") })]
] as const

describe("a replica asking the leader", () => {
  for (const [what, reply] of refused) {
    it.effect(`refuses a reply whose token is ${what}, and keeps nothing`, () =>
      Effect.gen(function*() {
        const { answer, cache } = yield* askingWith(reply)
        assert.isTrue(Result.isFailure(answer))
        if (Result.isFailure(answer)) assert.strictEqual(answer.failure._tag, "TokenUnavailable")
        assert.isUndefined(cache.get(PROVIDER))
        assert.isUndefined(cache.get("globex"))
      }))
  }

  it.effect("adopts a reply the cluster signed, and answers with it", () =>
    Effect.gen(function*() {
      const { answer, cache } = yield* askingWith(makeReplies({ signing: cluster }).answerReply({ token: tokenOf(5) }))
      assert.isTrue(Result.isSuccess(answer))
      if (Result.isSuccess(answer)) assert.strictEqual(answer.success.token.version, 5)
      assert.strictEqual(cache.get(PROVIDER)?.version, 5)
    }))
})
