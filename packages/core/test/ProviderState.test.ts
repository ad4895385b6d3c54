// The provider's state in KV (src/ProviderState.ts): `checkFence` decides for
// any two fences exactly as the module documents, and the stored state
// survives its JSON codec whole (fence, token, carry, budget, breaker) with
// the secrets kept Redacted once decoded, while states written by earlier
// versions decode as documented. The leader's use of the fence is tested
// against the real FencedState in packages/service.
import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Redacted, Schema } from "effect"
import { checkFence, type Fence, type ProviderState, ProviderStateJson } from "../src/ProviderState.ts"
import type { BudgetState } from "../src/RateBudget.ts"

const holder = fc.constantFrom("replica-a", "replica-b", "replica-c")
const fence: fc.Arbitrary<Fence> = fc.record({ holder, term: fc.integer({ min: 0, max: 6 }) })
const millis = fc.integer({ min: 0, max: 2 ** 45 })
const secret = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/).map((s) => `SECRET${s}END`)

const budget: fc.Arbitrary<BudgetState> = fc.oneof(
  fc.record({
    calls: fc.array(millis, { maxLength: 5 }).map((calls) => [...calls].sort((a, b) => a - b)),
    at: millis,
    blockedUntil: millis
  }, { requiredKeys: ["calls", "at"] }),
  fc.record({ available: fc.double({ min: 0, max: 10, noNaN: true }), at: millis, blockedUntil: millis }, {
    requiredKeys: ["available", "at"]
  })
)

/** Any state the leader may write, with its secrets in clear (`accessToken`, `carry`). */
const plainState = fc.record({
  token: fc.record({
    accessToken: secret,
    tokenType: fc.constantFrom<string>("Bearer", "BEARER"),
    issuedAt: millis,
    expiresAt: millis,
    reason: fc.constantFrom("initial", "unauthorized-report", "proactive", "operator"),
    version: fc.integer({ min: 1, max: 2 ** 40 })
  }, { requiredKeys: ["accessToken", "tokenType", "issuedAt", "reason"] }),
  carry: secret,
  budget,
  breaker: fc.record({ reason: fc.string(), since: millis, fingerprint: fc.stringMatching(/^[0-9a-f]{8,64}$/) }),
  fence
}, { requiredKeys: [] })
type PlainState = typeof plainState extends fc.Arbitrary<infer A> ? A : never

const redact = ({ token, carry, ...rest }: PlainState): ProviderState => ({
  ...rest,
  ...(token === undefined ? {} : { token: { ...token, accessToken: Redacted.make(token.accessToken) } }),
  ...(carry === undefined ? {} : { carry: Redacted.make(carry) })
})

const reveal = ({ token, carry, ...rest }: ProviderState): PlainState => ({
  ...rest,
  ...(token === undefined ? {} : { token: { ...token, accessToken: Redacted.value(token.accessToken) } }),
  ...(carry === undefined ? {} : { carry: Redacted.value(carry) })
})

const encode = Schema.encodeSync(ProviderStateJson)
const decode = Schema.decodeUnknownSync(ProviderStateJson)

describe("checkFence", () => {
  it("a state nobody fenced is unfenced, whoever reads it", () => {
    fc.assert(fc.property(fence, (mine) => assert.strictEqual(checkFence({}, mine), "unfenced")))
  })

  it("a fence of an older term is unfenced: this leader must write its own", () => {
    fc.assert(fc.property(fence, fence, (written, mine) => {
      fc.pre(written.term < mine.term)
      assert.strictEqual(checkFence({ fence: written }, mine), "unfenced")
    }))
  })

  it("a fence of a newer term deposes this leader, whoever wrote it", () => {
    fc.assert(fc.property(fence, fence, (written, mine) => {
      fc.pre(written.term > mine.term)
      assert.strictEqual(checkFence({ fence: written }, mine), "deposed")
    }))
  })

  it("in the same term, only this leader's own fence is ours; another holder's deposes it", () => {
    fc.assert(fc.property(fence, holder, (mine, other) => {
      assert.strictEqual(checkFence({ fence: mine }, mine), "ours")
      const written = { holder: other, term: mine.term }
      assert.strictEqual(checkFence({ fence: written }, mine), other === mine.holder ? "ours" : "deposed")
    }))
  })

  it("of two leaders of different terms, the older is deposed by the newer's fence, never the reverse", () => {
    fc.assert(fc.property(fence, fence, (a, b) => {
      fc.pre(a.term !== b.term)
      const [older, newer] = a.term < b.term ? [a, b] : [b, a]
      assert.strictEqual(checkFence({ fence: newer }, older), "deposed")
      assert.strictEqual(checkFence({ fence: older }, newer), "unfenced")
    }))
  })

  it("looks at the fence alone, not at what else the state holds", () => {
    fc.assert(fc.property(plainState, fence, (state, mine) => {
      const bare: ProviderState = state.fence === undefined ? {} : { fence: state.fence }
      assert.strictEqual(checkFence(redact(state), mine), checkFence(bare, mine))
    }))
  })
})

describe("ProviderStateJson", () => {
  it("round-trips any stored state: fence, token, carry, budget and breaker", () => {
    fc.assert(fc.property(plainState, (state) => {
      const decoded = decode(encode(redact(state)))
      assert.deepStrictEqual(reveal(decoded), state)
      if (state.fence !== undefined) assert.strictEqual(checkFence(decoded, state.fence), "ours")
    }))
  })

  it("keeps the token and carry Redacted once decoded: never printed, whatever prints the state", () => {
    fc.assert(fc.property(plainState, (state) => {
      const decoded = decode(encode(redact(state)))
      if (decoded.token !== undefined) assert.isTrue(Redacted.isRedacted(decoded.token.accessToken))
      if (decoded.carry !== undefined) assert.isTrue(Redacted.isRedacted(decoded.carry))
      const printed = [inspect(decoded, { depth: null }), JSON.stringify(decoded), String(decoded.carry)]
      for (const text of printed) assert.notMatch(text, /SECRET[A-Za-z0-9]+END/, "a secret was printed")
    }))
  })

  it("writes the secrets to KV in clear: they are the state's payload", () => {
    const json = JSON.parse(encode({ carry: Redacted.make("refresh-1"), fence: { holder: "replica-a", term: 2 } }))
    assert.deepStrictEqual(json, { carry: "refresh-1", fence: { holder: "replica-a", term: 2 } })
  })

  it("reads an empty state, as written before any leader, as unfenced with nothing in it", () => {
    const state = decode(`{}`)
    assert.deepStrictEqual(state, {})
    assert.strictEqual(checkFence(state, { holder: "replica-a", term: 1 }), "unfenced")
  })

  it("reads a token without version (the write that introduced it), and an old bucket budget", () => {
    const state = decode(JSON.stringify({
      token: { accessToken: "tok", tokenType: "Bearer", issuedAt: 10, reason: "initial" },
      budget: { available: 3.5, at: 10 }
    }))
    assert.notProperty(state.token, "version")
    assert.deepStrictEqual(state.budget, { available: 3.5, at: 10 })
  })

  it("drops fields it does not know, at every level", () => {
    const state = decode(JSON.stringify({
      shard: 4,
      token: { accessToken: "tok", tokenType: "Bearer", issuedAt: 10, reason: "initial", scope: "read" },
      fence: { holder: "replica-a", term: 3, epoch: 9 },
      breaker: { reason: "401", since: 5, fingerprint: "ab", by: "x" }
    }))
    const written = JSON.parse(encode(state))
    assert.deepStrictEqual(written, {
      token: { accessToken: "tok", tokenType: "Bearer", issuedAt: 10, reason: "initial" },
      fence: { holder: "replica-a", term: 3 },
      breaker: { reason: "401", since: 5, fingerprint: "ab" }
    })
  })

  it("refuses a damaged state rather than reading it as an unfenced or empty one", () => {
    const decodeOption = Schema.decodeUnknownOption(ProviderStateJson)
    for (
      const bad of [
        `not json`,
        `{"fence":{"holder":"replica-a","term":1.5}}`,
        `{"fence":{"term":3}}`,
        `{"token":{"accessToken":"tok","tokenType":"Bearer","issuedAt":10,"reason":"whim"}}`,
        `{"token":{"accessToken":"tok","tokenType":"Bearer","issuedAt":10,"reason":"initial","version":0}}`,
        `{"carry":42}`,
        `{"budget":{"spent":3}}`,
        `{"breaker":{"reason":"401","since":5}}`
      ]
    ) {
      assert.strictEqual(decodeOption(bad)._tag, "None", bad)
    }
  })
})
