// A token sealed for the bus must open, for a holder of the key, to exactly
// the token that was sealed, through the JSON of an update and of a reply;
// the payload's bytes must hold the provider, version and expiry but never
// the access token; and the seal must refuse another key, a key it does not
// name, and an envelope moved onto another provider's or version's token or
// altered. The known-answer vector is the one PROTOCOL.md shows ("Sealed
// tokens"): its envelope was computed with plain AES-256-GCM from the bytes
// the document lists, so a change of the wire form, of the additional data,
// or a document that drifts from the code, fails here.
import { readFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Redacted, Result, Schema } from "effect"
import { TokenReplyJson, TokenUpdateJson } from "../src/Messages.ts"
import { type SealingError, type SealingKey, sealingKey, sealingKeyFromBase64 } from "../src/Sealing.ts"
import { MintReason, Token } from "../src/Token.ts"
import { verifyKeyFromPem, verifyToken } from "../src/TokenSignature.ts"
import { busAad, isSealedToken, openToken, sealToken, type WireToken } from "../src/WireToken.ts"
import { exampleToken } from "./support/ExampleToken.ts"

// The bytes 0x00..0x1f, and 0x00..0x0b: public, never to be used.
const exampleKeyBase64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
const exampleIv = Uint8Array.from({ length: 12 }, (_, index) => index)
const exampleAad = "a256gcm.bus-1.tokenbus-bus:project44:1795458490414000"
const exampleEnvelope = "a256gcm.bus-1.AAECAwQFBgcICQoL.NzbiRKCdo3b9LfI.XiLi5IUqyJ8Lg-6-4fvv3w"

// RFC 8032's first test key, the one of PROTOCOL.md's "Signatures": the signature covers the token in clear.
const examplePublicPem = [
  "-----BEGIN PUBLIC KEY-----",
  "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
  "-----END PUBLIC KEY-----"
].join("\n")

const exampleKey = Result.getOrThrow(sealingKeyFromBase64("bus-1", Redacted.make(exampleKeyBase64)))
const keyOf = (id: string): SealingKey => Result.getOrThrow(sealingKey(id, randomBytes(32)))
const sealed = (key: SealingKey, token: Token) => Result.getOrThrow(sealToken(key, randomBytes(12), token))
const opened = (keys: ReadonlyArray<SealingKey>, token: WireToken): Token => Result.getOrThrow(openToken(keys, token))
const refusal = (keys: ReadonlyArray<SealingKey>, token: WireToken): SealingError =>
  Result.match(openToken(keys, token), {
    onFailure: (error) => error,
    onSuccess: () => assert.fail("expected the seal to be refused")
  })

/** The token's fields but its access token, as a decoded sealed token holds them. */
const readableFields = ({ accessToken: _, ...fields }: Token) => fields

/** The token's fields with the access token revealed, to compare tokens whose secret is Redacted. */
const revealed = (token: Token) => ({ ...token, accessToken: Redacted.value(token.accessToken) })

const tokenArbitrary = fc.record({
  provider: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/),
  version: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  // A distinctive prefix, so that finding it in a payload can only mean the token leaked.
  accessToken: fc.stringMatching(/^[A-Za-z0-9._~+/-]{0,40}$/).map((text) => `canary.${text}`),
  tokenType: fc.string({ maxLength: 10 }),
  issuedAt: fc.double({ min: 0, max: 4e12, noNaN: true }),
  expiresAt: fc.option(fc.double({ min: 0, max: 4e12, noNaN: true }), { nil: undefined }),
  reason: fc.constantFrom(...MintReason.literals)
}).map(({ accessToken, expiresAt, ...fields }) =>
  new Token({ ...fields, accessToken: Redacted.make(accessToken), ...(expiresAt === undefined ? {} : { expiresAt }) })
)

describe("sealToken and openToken", () => {
  it("give the known-answer vector", () => {
    assert.strictEqual(busAad("project44", 1_795_458_490_414_000), exampleAad.slice("a256gcm.bus-1.".length))
    const token = Result.getOrThrow(sealToken(exampleKey, exampleIv, exampleToken))
    assert.strictEqual(token.sealedAccessToken, exampleEnvelope)
    assert.deepStrictEqual(revealed(opened([exampleKey], token)), revealed(exampleToken))
  })

  it("are the ones PROTOCOL.md shows, and the signature there verifies after opening", () => {
    const protocol = readFileSync(new URL("../../../PROTOCOL.md", import.meta.url), "utf8")
    const line = protocol.split("\n").find((text) => text.startsWith("{") && text.includes(exampleEnvelope))
    if (line === undefined) return assert.fail("PROTOCOL.md shows no update with the example's envelope")
    const update = Schema.decodeUnknownSync(TokenUpdateJson)(line)
    assert.deepStrictEqual(update.token, { ...readableFields(exampleToken), sealedAccessToken: exampleEnvelope })
    const verifyKey = Result.getOrThrow(verifyKeyFromPem(examplePublicPem))
    assert.isTrue(verifyToken([verifyKey], opened([exampleKey], update.token), update.signature))
    for (const text of [exampleKeyBase64, exampleAad, Buffer.from(exampleAad).toString("hex")]) {
      assert.include(protocol, text)
    }
  })

  it("round-trip through the JSON of updates and replies, and the payload never holds the access token", () => {
    const key = keyOf("bus-1")
    const encodeUpdate = Schema.encodeSync(TokenUpdateJson)
    const encodeReply = Schema.encodeSync(TokenReplyJson)
    const decodeUpdate = Schema.decodeUnknownSync(TokenUpdateJson)
    const decodeReply = Schema.decodeUnknownSync(TokenReplyJson)
    fc.assert(
      fc.property(tokenArbitrary, (token) => {
        const onWire = sealed(key, token)
        const update = encodeUpdate({ v: 1, token: onWire })
        const reply = encodeReply({ v: 1, ok: true, token: onWire })
        for (const payload of [update, reply]) {
          assert.notInclude(payload, Redacted.value(token.accessToken))
          assert.notProperty(JSON.parse(payload).token, "accessToken")
          assert.strictEqual(JSON.parse(payload).token.version, token.version)
        }
        const fromUpdate = decodeUpdate(update).token
        const fromReply = decodeReply(reply)
        if (!fromReply.ok) return assert.fail("expected an ok reply")
        for (const received of [fromUpdate, fromReply.token]) {
          assert.isTrue(isSealedToken(received))
          assert.deepStrictEqual(revealed(opened([key], received)), revealed(token))
        }
      }),
      { numRuns: 200 }
    )
  })

  it("read a payload naming sealedAccessToken as sealed, even with an accessToken beside it", () => {
    const key = keyOf("bus-1")
    const onWire = sealed(key, exampleToken)
    const wire = JSON.stringify({ v: 1, token: { ...onWire, accessToken: "planted" } })
    const received = Schema.decodeUnknownSync(TokenUpdateJson)(wire).token
    assert.isTrue(isSealedToken(received))
    assert.strictEqual(Redacted.value(opened([key], received).accessToken), "p44_example")
  })

  it("leave a token in clear as it is", () => {
    assert.strictEqual(opened([], exampleToken), exampleToken)
  })

  it("draw nothing themselves: the IV is the caller's, and a fresh one gives a fresh envelope", () => {
    const key = keyOf("bus-1")
    assert.notStrictEqual(sealed(key, exampleToken).sealedAccessToken, sealed(key, exampleToken).sealedAccessToken)
  })
})

describe("a sealed token does not open", () => {
  const key = keyOf("bus-1")
  const onWire = sealed(key, exampleToken)

  it("with no key, or only keys of other ids", () => {
    assert.include(refusal([], onWire), { reason: "unknown-key", keyId: "bus-1" })
    assert.include(refusal([keyOf("bus-2")], onWire), { reason: "unknown-key", keyId: "bus-1" })
  })

  it("with another key under its id", () => {
    assert.include(refusal([keyOf("bus-1")], onWire), { reason: "rejected", keyId: "bus-1" })
  })

  it("moved onto another provider's token, or another version's", () => {
    assert.include(refusal([key], { ...onWire, provider: "project45" }), { reason: "rejected" })
    assert.include(refusal([key], { ...onWire, version: onWire.version + 1 }), { reason: "rejected" })
  })

  it("altered, in its ciphertext, tag, IV or the key id in its header", () => {
    const [format = "", id = "", iv = "", ciphertext = "", tag = ""] = onWire.sealedAccessToken.split(".")
    const flip = (part: string) => (part[0] === "A" ? "B" : "A") + part.slice(1)
    const other = keyOf("bus-9")
    const altered = [
      [format, id, iv, flip(ciphertext), tag],
      [format, id, iv, ciphertext, flip(tag)],
      [format, id, flip(iv), ciphertext, tag]
    ]
    for (const parts of altered) {
      assert.include(refusal([key], { ...onWire, sealedAccessToken: parts.join(".") }), { reason: "rejected" })
    }
    // The header is bound too: the same bytes under another id do not open with the key of that id.
    const renamed = { ...onWire, sealedAccessToken: [format, "bus-9", iv, ciphertext, tag].join(".") }
    const sameMaterial = Result.getOrThrow(sealingKey("bus-9", Redacted.value(key.material)))
    assert.include(refusal([other, sameMaterial], renamed), { reason: "rejected" })
  })
})

describe("rotating the bus key", () => {
  it("a reader with the old and the new key opens what either sealed; one with the new key alone, only its own", () => {
    const old = keyOf("bus-1")
    const next = keyOf("bus-2")
    const byOld = sealed(old, exampleToken)
    const byNext = sealed(next, new Token({ ...exampleToken, version: exampleToken.version + 1 }))
    for (const token of [byOld, byNext]) assert.isTrue(Result.isSuccess(openToken([old, next], token)))
    assert.include(refusal([next], byOld), { reason: "unknown-key", keyId: "bus-1" })
    assert.strictEqual(opened([next], byNext).version, exampleToken.version + 1)
  })
})

