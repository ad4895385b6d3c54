// A token's signature must cover every field of the token, in bytes another
// language can rebuild from the JSON alone: the known-answer vector below is
// the one PROTOCOL.md shows (RFC 8032's first test key, public knowledge,
// never to be used), so a change of the canonical form that forgets the
// document, or the document that drifts from the code, fails here. What
// survives the JSON round trip must still verify; any change must not.
import { generateKeyPairSync } from "node:crypto"
import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Redacted, Result, Schema } from "effect"
import { TokenUpdateJson } from "../src/Messages.ts"
import { MintReason, Token } from "../src/Token.ts"
import {
  canonicalTokenBytes,
  generateSigningKeyPair,
  type SigningKey,
  signingKeyFromPem,
  signToken,
  verifyKeyFromPem,
  verifyToken
} from "../src/TokenSignature.ts"
import { isSealedToken } from "../src/WireToken.ts"
import { exampleToken } from "./support/ExampleToken.ts"

const examplePrivatePem = [
  "-----BEGIN PRIVATE KEY-----",
  "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g",
  "-----END PRIVATE KEY-----"
].join("\n")
const examplePublicPem = [
  "-----BEGIN PUBLIC KEY-----",
  "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
  "-----END PUBLIC KEY-----"
].join("\n")
const exampleCanonicalHex = "746f6b656e6275732f746f6b656e2f7631000000000970726f6a6563743434000660f5c187b3b0" +
  "0000000b7034345f6578616d706c6500000006424541524552427a209aa602e00001427a20c3d8e2e00000000007696e697469616c"
const exampleSignature = "HOad8djL/Buf0xr9NwoleE38R5iiw2/P6mSTQ1P4TicVV/MtddUTz46iT48cobvtmbJ3BJehX3zxX6Pp/HvmDw=="

const keyOf = (pem: string): SigningKey => Result.getOrThrow(signingKeyFromPem(Redacted.make(pem)))
const exampleKey = keyOf(examplePrivatePem)
const freshKey = () => keyOf(Redacted.value(generateSigningKeyPair().privateKeyPem))
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const tokenArbitrary = fc.record({
  provider: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/),
  version: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  accessToken: fc.string({ unit: "grapheme", maxLength: 40 }),
  tokenType: fc.string({ maxLength: 10 }),
  issuedAt: fc.double({ min: 0, max: 4e12, noNaN: true }),
  expiresAt: fc.option(fc.double({ min: 0, max: 4e12, noNaN: true }), { nil: undefined }),
  reason: fc.constantFrom(...MintReason.literals)
}).map(({ accessToken, expiresAt, ...fields }) =>
  new Token({
    ...fields,
    accessToken: Redacted.make(accessToken),
    ...(expiresAt === undefined ? {} : { expiresAt })
  })
)

describe("canonicalTokenBytes and signToken", () => {
  it("give the known-answer vector", () => {
    assert.strictEqual(hex(canonicalTokenBytes(exampleToken)), exampleCanonicalHex)
    assert.strictEqual(signToken(exampleKey, exampleToken), exampleSignature)
    assert.strictEqual(exampleKey.verifyKey.pem.trim(), examplePublicPem)
  })

  it("are the ones PROTOCOL.md shows", () => {
    const protocol = readFileSync(new URL("../../../PROTOCOL.md", import.meta.url), "utf8")
    // The canonical bytes are shown as lines of hex digits alone, in order.
    const hexInDoc = protocol.split("\n").filter((line) => /^[0-9a-f]{16,}$/.test(line)).join("")
    assert.include(hexInDoc, exampleCanonicalHex)
    for (const text of [exampleSignature, examplePrivatePem, examplePublicPem]) assert.include(protocol, text)
  })

  it("cover every field: changing any one changes the bytes and breaks the signature", () => {
    const signature = signToken(exampleKey, exampleToken)
    const changes: ReadonlyArray<Partial<ConstructorParameters<typeof Token>[0]>> = [
      { provider: "project45" },
      { version: exampleToken.version + 1 },
      { accessToken: Redacted.make("p44_examplf") },
      { tokenType: "Bearer" },
      { issuedAt: exampleToken.issuedAt + 0.5 },
      { expiresAt: exampleToken.expiresAt! + 1 },
      { reason: "operator" }
    ]
    for (const change of changes) {
      const changed = new Token({ ...exampleToken, ...change })
      assert.notStrictEqual(hex(canonicalTokenBytes(changed)), exampleCanonicalHex, JSON.stringify(Object.keys(change)))
      assert.isFalse(verifyToken([exampleKey.verifyKey], changed, signature), JSON.stringify(Object.keys(change)))
    }
    const { expiresAt: _, ...withoutExpiry } = exampleToken
    assert.isFalse(verifyToken([exampleKey.verifyKey], new Token(withoutExpiry), signature))
  })

  it("keep fields apart: moving characters from one string to the next changes the bytes", () => {
    const a = new Token({ ...exampleToken, provider: "ab", accessToken: Redacted.make("c") })
    const b = new Token({ ...exampleToken, provider: "a", accessToken: Redacted.make("bc") })
    assert.notStrictEqual(hex(canonicalTokenBytes(a)), hex(canonicalTokenBytes(b)))
  })

  it("survive the JSON of an update: a signed token decoded from the wire still verifies", () => {
    const key = freshKey()
    const encode = Schema.encodeSync(TokenUpdateJson)
    const decode = Schema.decodeUnknownSync(TokenUpdateJson)
    fc.assert(fc.property(tokenArbitrary, (token) => {
      const received = decode(encode({ v: 1, token, signature: signToken(key, token) }))
      if (isSealedToken(received.token)) return assert.fail("expected a token in clear")
      assert.isTrue(verifyToken([key.verifyKey], received.token, received.signature))
    }), { numRuns: 300 })
  })

  it("write -0 as 0, since JSON drops the sign", () => {
    const negative = new Token({ ...exampleToken, issuedAt: -0 })
    const positive = new Token({ ...exampleToken, issuedAt: 0 })
    assert.strictEqual(hex(canonicalTokenBytes(negative)), hex(canonicalTokenBytes(positive)))
  })
})

describe("verifyToken", () => {
  const signature = signToken(exampleKey, exampleToken)

  it("refuses a missing, malformed or truncated signature", () => {
    const keys = [exampleKey.verifyKey]
    assert.isTrue(verifyToken(keys, exampleToken, signature))
    assert.isFalse(verifyToken(keys, exampleToken, undefined))
    assert.isFalse(verifyToken(keys, exampleToken, ""))
    assert.isFalse(verifyToken(keys, exampleToken, signature.slice(0, 80)))
    assert.isFalse(verifyToken(keys, exampleToken, `${signature.slice(0, 10)}*${signature.slice(11)}`))
    assert.isFalse(verifyToken(keys, exampleToken, Buffer.alloc(64).toString("base64")))
  })

  it("refuses a signature by another key, and accepts it once that key is among the keys", () => {
    const other = freshKey()
    const forged = signToken(other, exampleToken)
    assert.isFalse(verifyToken([exampleKey.verifyKey], exampleToken, forged))
    assert.isTrue(verifyToken([exampleKey.verifyKey, other.verifyKey], exampleToken, forged))
    assert.isFalse(verifyToken([], exampleToken, signature))
  })
})

describe("reading keys", () => {
  it("reads the public key from PEM, and the pair keygen writes", () => {
    const key = Result.getOrThrow(verifyKeyFromPem(examplePublicPem))
    assert.isTrue(verifyToken([key], exampleToken, exampleSignature))
    const pair = generateSigningKeyPair()
    const signing = keyOf(Redacted.value(pair.privateKeyPem))
    const verifying = Result.getOrThrow(verifyKeyFromPem(pair.publicKeyPem))
    assert.isTrue(verifyToken([verifying], exampleToken, signToken(signing, exampleToken)))
    assert.strictEqual(signing.verifyKey.pem, verifying.pem)
  })

  it("refuses what is not an Ed25519 key of the right half, without quoting it", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" })
    const ecPrivate = String(ec.privateKey.export({ type: "pkcs8", format: "pem" }))
    const refusals = [ecPrivate, examplePublicPem, "not a key"].map((pem) => signingKeyFromPem(Redacted.make(pem)))
    const messages = refusals.map((result) => (Result.isFailure(result) ? result.failure.message : "accepted"))
    assert.include(messages[0], "not Ed25519")
    for (const message of messages) {
      assert.notStrictEqual(message, "accepted")
      assert.notInclude(message, "BEGIN")
    }
    const ecPublic = String(ec.publicKey.export({ type: "spki", format: "pem" }))
    for (const pem of [ecPublic, "not a key"]) assert.isTrue(Result.isFailure(verifyKeyFromPem(pem)))
    const privateGiven = verifyKeyFromPem(examplePrivatePem)
    assert.isTrue(Result.isFailure(privateGiven))
    if (Result.isFailure(privateGiven)) {
      assert.include(privateGiven.failure.message, "private key")
      assert.notInclude(privateGiven.failure.message, "MC4CAQAw")
    }
  })
})
