// The wire protocol: what one side encodes the other must decode to the same
// values, unknown fields must not break decoding (minor protocol additions),
// and the access token must cross the wire in clear (it is the payload) but
// never leave a decoded value through String, JSON or inspection.
import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Option, Redacted, Schema } from "effect"
import {
  GetTokenRequestJson,
  MintRequestJson,
  TokenReplyJson,
  TokenUpdateJson,
  UnauthorizedReportJson
} from "../src/Messages.ts"
import {
  InvalidRequest,
  type ProtocolError,
  ProviderNotFound,
  TokenUnavailable,
  UnsupportedProtocolVersion
} from "../src/ProtocolError.ts"
import { Token } from "../src/Token.ts"
import { isSealedToken, type WireToken } from "../src/WireToken.ts"

const secret = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-XYZ"

const token = new Token({
  provider: "project44-eu",
  version: 12,
  accessToken: Redacted.make(secret),
  tokenType: "Bearer",
  issuedAt: 1_700_000_000_000,
  expiresAt: 1_700_000_043_199,
  reason: "unauthorized-report"
})

const encodeReply = Schema.encodeSync(TokenReplyJson)
const decodeReply = Schema.decodeUnknownSync(TokenReplyJson)
const encodeUpdate = Schema.encodeSync(TokenUpdateJson)
const decodeUpdate = Schema.decodeUnknownSync(TokenUpdateJson)

/** The token of a message sent in clear. */
const clear = (wire: WireToken): Token => (isSealedToken(wire) ? assert.fail("expected a token in clear") : wire)

/** Token has a Redacted field, so compare field by field with the secret revealed. */
const assertSameToken = (wire: WireToken, expected: Token) => {
  const actual = clear(wire)
  assert.instanceOf(actual, Token)
  assert.isTrue(Redacted.isRedacted(actual.accessToken))
  assert.deepStrictEqual(
    { ...actual, accessToken: Redacted.value(actual.accessToken) },
    { ...expected, accessToken: Redacted.value(expected.accessToken) }
  )
}

const assertNoSecret = (text: string, what: string) => assert.notInclude(text, secret, `${what} leaks the token`)

describe("TokenReplyJson", () => {
  it("round-trips an ok reply, carrying the raw token on the wire", () => {
    const wire = encodeReply({ v: 1, ok: true, token })
    assert.include(wire, `"accessToken":"${secret}"`)
    assert.deepStrictEqual(JSON.parse(wire), {
      v: 1,
      ok: true,
      token: {
        provider: "project44-eu",
        version: 12,
        accessToken: secret,
        tokenType: "Bearer",
        issuedAt: 1_700_000_000_000,
        expiresAt: 1_700_000_043_199,
        reason: "unauthorized-report"
      }
    })
    const reply = decodeReply(wire)
    assert.isTrue(reply.ok)
    if (reply.ok) assertSameToken(reply.token, token)
  })

  const errors: ReadonlyArray<ProtocolError> = [
    new ProviderNotFound({ provider: "nope", message: "no provider nope" }),
    new InvalidRequest({ message: "payload is not JSON" }),
    new UnsupportedProtocolVersion({ requested: 9, supported: [1], message: "speaks v1 only" }),
    new TokenUnavailable({ provider: "project44-eu", message: "no leader yet" })
  ]

  for (const error of errors) {
    it(`round-trips an error reply: ${error._tag}`, () => {
      const wire = encodeReply({ v: 1, ok: false, error })
      assert.strictEqual(JSON.parse(wire).error._tag, error._tag)
      const reply = decodeReply(wire)
      assert.isFalse(reply.ok)
      if (!reply.ok) {
        assert.strictEqual(reply.error.constructor, error.constructor)
        assert.strictEqual(reply.error._tag, error._tag)
        assert.strictEqual(reply.error.message, error.message)
        assert.deepStrictEqual(JSON.parse(encodeReply(reply)), JSON.parse(wire))
      }
    })
  }

  it("decodes an error reply written by hand (as another client library would)", () => {
    const reply = decodeReply(
      `{"v":1,"ok":false,"error":{"_tag":"TokenUnavailable","provider":"p44","message":"upstream down"}}`
    )
    assert.isFalse(reply.ok)
    if (!reply.ok) {
      assert.instanceOf(reply.error, TokenUnavailable)
      assert.strictEqual(reply.error.message, "upstream down")
    }
  })

  it("ignores fields it does not know, at every level", () => {
    const reply = decodeReply(JSON.stringify({
      v: 1,
      ok: true,
      traceId: "abc",
      token: { ...JSON.parse(encodeReply({ v: 1, ok: true, token })).token, scope: "read write", extra: { a: 1 } }
    }))
    assert.isTrue(reply.ok)
    if (reply.ok) assertSameToken(reply.token, token)
    assert.notInclude(encodeReply(reply), "traceId")
    assert.notInclude(encodeReply(reply), "scope")

    const error = decodeReply(
      `{"v":1,"ok":false,"retryAfter":5,"error":{"_tag":"InvalidRequest","message":"m","hint":"h"}}`
    )
    assert.isFalse(error.ok)
  })

  it("refuses replies that do not match the protocol", () => {
    const decode = Schema.decodeUnknownOption(TokenReplyJson)
    const tokenJson = JSON.parse(encodeReply({ v: 1, ok: true, token })).token
    for (
      const bad of [
        "not json",
        `{"v":1,"ok":true}`,
        `{"ok":true,"token":${JSON.stringify(tokenJson)}}`,
        JSON.stringify({ v: 1, ok: true, token: { ...tokenJson, version: 0 } }),
        JSON.stringify({ v: 1, ok: true, token: { ...tokenJson, provider: "Not Valid" } }),
        JSON.stringify({ v: 1, ok: true, token: { ...tokenJson, reason: "whim" } }),
        `{"v":1,"ok":false,"error":{"_tag":"Unheard","message":"?"}}`,
        JSON.stringify({ v: 1, ok: false, token: tokenJson })
      ]
    ) {
      assert.isTrue(Option.isNone(decode(bad)), bad)
    }
  })

  it("round-trips any valid token", () => {
    const anyToken = fc.record({
      provider: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/),
      version: fc.integer({ min: 1, max: 2 ** 52 }),
      accessToken: fc.string({ minLength: 1 }),
      tokenType: fc.string(),
      issuedAt: fc.integer({ min: 0, max: 2 ** 45 }),
      expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
      reason: fc.constantFrom("initial", "unauthorized-report", "proactive", "operator")
    })
    fc.assert(fc.property(anyToken, ({ accessToken, expiresAt, ...fields }) => {
      const original = new Token({
        ...fields,
        accessToken: Redacted.make(accessToken),
        ...(expiresAt === undefined ? {} : { expiresAt })
      })
      const wire = encodeReply({ v: 1, ok: true, token: original })
      assert.strictEqual(JSON.parse(wire).token.accessToken, accessToken)
      const reply = decodeReply(wire)
      assert.isTrue(reply.ok)
      if (reply.ok) {
        assertSameToken(reply.token, original)
        assert.strictEqual("expiresAt" in reply.token, expiresAt !== undefined)
      }
    }))
  })
})

describe("TokenUpdateJson", () => {
  it("round-trips a committed token", () => {
    const wire = encodeUpdate({ v: 1, token })
    assert.include(wire, secret)
    const update = decodeUpdate(wire)
    assert.strictEqual(update.v, 1)
    assertSameToken(update.token, token)
  })

  it("keeps expiresAt absent when the upstream did not say", () => {
    const { expiresAt: _, ...rest } = token
    const withoutExpiry = new Token(rest)
    const update = decodeUpdate(encodeUpdate({ v: 1, token: withoutExpiry }))
    assert.isFalse("expiresAt" in update.token)
    assert.notInclude(encodeUpdate(update), "expiresAt")
  })

  it("ignores unknown fields", () => {
    const wire = JSON.parse(encodeUpdate({ v: 1, token }))
    const update = decodeUpdate(JSON.stringify({ ...wire, source: "replica-3", token: { ...wire.token, kid: "k1" } }))
    assertSameToken(update.token, token)
  })
})

describe("UnauthorizedReportJson", () => {
  const encode = Schema.encodeSync(UnauthorizedReportJson)
  const decode = Schema.decodeUnknownOption(UnauthorizedReportJson)

  it("round-trips", () => {
    const wire = encode({ v: 1, version: 12 })
    assert.deepStrictEqual(JSON.parse(wire), { v: 1, version: 12 })
    assert.deepStrictEqual(decode(wire), Option.some({ v: 1, version: 12 }))
  })

  it("ignores unknown fields and refuses a missing or non-positive version", () => {
    assert.deepStrictEqual(decode(`{"v":1,"version":3,"status":401}`), Option.some({ v: 1, version: 3 }))
    for (const bad of [`{"v":1}`, `{"v":1,"version":0}`, `{"v":1,"version":1.5}`, `{"version":3}`]) {
      assert.isTrue(Option.isNone(decode(bad)), bad)
    }
  })

  it("decodes a version it does not speak, so the replica can answer with a typed error", () => {
    assert.deepStrictEqual(decode(`{"v":2,"version":3}`), Option.some({ v: 2, version: 3 }))
  })
})

describe("other requests", () => {
  it("GetTokenRequestJson and MintRequestJson round-trip", () => {
    assert.deepStrictEqual(Schema.decodeUnknownSync(GetTokenRequestJson)(`{"v":1,"x":true}`), { v: 1 })
    const mint = { v: 1, reason: "unauthorized-report", failedVersion: 4 } as const
    const wire = Schema.encodeSync(MintRequestJson)(mint)
    assert.deepStrictEqual(Schema.decodeUnknownSync(MintRequestJson)(wire), mint)
    assert.deepStrictEqual(Schema.decodeUnknownSync(MintRequestJson)(`{"v":1,"reason":"initial"}`), {
      v: 1,
      reason: "initial"
    })
  })
})

describe("the access token stays secret after decoding", () => {
  const decodeOk = () => {
    const reply = decodeReply(encodeReply({ v: 1, ok: true, token }))
    if (!reply.ok) throw new Error("expected an ok reply")
    return { reply, token: clear(reply.token) }
  }

  it("is Redacted and still readable on purpose", () => {
    const decoded = decodeOk()
    assert.isTrue(Redacted.isRedacted(decoded.token.accessToken))
    assert.strictEqual(Redacted.value(decoded.token.accessToken), secret)
  })

  it("does not show in String, template strings or inspection", () => {
    const decoded = decodeOk()
    assertNoSecret(String(decoded.token), "String(token)")
    assertNoSecret(`${decoded.token}`, "a template string")
    assertNoSecret(String(decoded.token.accessToken), "String(redacted)")
    assertNoSecret(inspect(decoded.token, { depth: 10 }), "util.inspect(token)")
    assertNoSecret(inspect(decoded.reply, { depth: 10 }), "util.inspect(reply)")
  })

  it("does not show in JSON.stringify", () => {
    const decoded = decodeOk()
    const json = JSON.stringify(decoded.token)
    assertNoSecret(json, "JSON.stringify(token)")
    // The other fields are still there, so logging a token stays useful.
    assert.strictEqual(JSON.parse(json).version, 12)
    assertNoSecret(JSON.stringify(decoded.reply), "JSON.stringify(reply)")
    assertNoSecret(JSON.stringify(decoded.token.accessToken), "JSON.stringify(redacted)")
    assertNoSecret(JSON.stringify(Redacted.make(secret)), "JSON.stringify(Redacted.make)")
    assertNoSecret(JSON.stringify({ nested: [token] }), "JSON.stringify of a structure holding a token")
  })
})
