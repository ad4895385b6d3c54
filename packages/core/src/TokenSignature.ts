/**
 * Who issued a token. The replicas of a cluster share an Ed25519 key and
 * sign every token they send; consumers given its public half keep only
 * tokens it verifies, so a token published or answered by anyone else is
 * dropped whatever its version.
 *
 * What is signed is the token's canonical bytes: a domain-separation tag,
 * then each field in a fixed order and a fixed binary encoding, so a client
 * in any language rebuilds exactly the bytes the replica signed from the
 * JSON it received (PROTOCOL.md, "Signatures", has the layout and a worked
 * example; `test/TokenSignature.test.ts` in core checks that example).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto"
import { Data, Redacted, Result } from "effect"
import type { Token } from "./Token.ts"

/** The first bytes of every canonical form, then a 0x00 byte: nothing else signed with the key can pass for a token. */
export const signatureTag = "tokenbus/token/v1"

export class InvalidTokenKey extends Data.TaggedError("InvalidTokenKey")<{ readonly message: string }> {}

/** The public half of the cluster's key: what consumers verify with. */
export interface VerifyKey {
  readonly publicKey: KeyObject
  /** SPKI PEM, as `tokenbus keygen` writes it. */
  readonly pem: string
}

/** The cluster's private key, held by the replicas, with its public half. */
export interface SigningKey {
  readonly privateKey: KeyObject
  readonly verifyKey: VerifyKey
}

const utf8 = new TextEncoder()

const fixed = (size: number, write: (view: DataView) => void): Uint8Array => {
  const bytes = new Uint8Array(size)
  write(new DataView(bytes.buffer))
  return bytes
}

/** A string: its UTF-8 length as an unsigned 32-bit big-endian integer, then its UTF-8 bytes. */
const text = (value: string): ReadonlyArray<Uint8Array> => {
  const bytes = utf8.encode(value)
  return [fixed(4, (view) => view.setUint32(0, bytes.length)), bytes]
}

/** A JSON number as the IEEE 754 double it decodes to, big-endian; -0 is written as 0, since JSON loses the sign. */
const float = (value: number): Uint8Array => fixed(8, (view) => view.setFloat64(0, value === 0 ? 0 : value))

/**
 * The bytes a token's signature covers: the tag and a 0x00 byte, `provider`,
 * `version` (unsigned 64-bit big-endian), `accessToken`, `tokenType`,
 * `issuedAt`, `expiresAt` (one byte 0x00 when absent, else 0x01 and the
 * number) and `reason`.
 */
export const canonicalTokenBytes = (token: Token): Uint8Array => {
  const parts = [
    utf8.encode(signatureTag),
    Uint8Array.of(0),
    ...text(token.provider),
    fixed(8, (view) => view.setBigUint64(0, BigInt(token.version))),
    ...text(Redacted.value(token.accessToken)),
    ...text(token.tokenType),
    float(token.issuedAt),
    ...(token.expiresAt === undefined ? [Uint8Array.of(0)] : [Uint8Array.of(1), float(token.expiresAt)]),
    ...text(token.reason)
  ]
  const bytes = new Uint8Array(parts.reduce((size, part) => size + part.length, 0))
  let offset = 0
  for (const part of parts) {
    bytes.set(part, offset)
    offset += part.length
  }
  return bytes
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const ed25519 = (key: KeyObject, what: string): Result.Result<KeyObject, InvalidTokenKey> =>
  key.asymmetricKeyType === "ed25519"
    ? Result.succeed(key)
    : Result.fail(new InvalidTokenKey({ message: `${what} is a ${key.asymmetricKeyType} key, not Ed25519` }))

/** Reads the cluster's private key (PKCS#8 PEM). The error never quotes the key. */
export const signingKeyFromPem = (pem: Redacted.Redacted<string>): Result.Result<SigningKey, InvalidTokenKey> =>
  Result.try({
    try: () => createPrivateKey({ key: Redacted.value(pem), format: "pem" }),
    catch: (cause) =>
      new InvalidTokenKey({ message: `the signing key is not a private key in PKCS#8 PEM (${messageOf(cause)})` })
  }).pipe(
    Result.flatMap((key) => ed25519(key, "the signing key")),
    Result.map((privateKey) => {
      const publicKey = createPublicKey(privateKey)
      const spki = publicKey.export({ type: "spki", format: "pem" })
      return { privateKey, verifyKey: { publicKey, pem: String(spki) } }
    })
  )

/** Reads a public key (SPKI PEM); a private key is refused, since a consumer must never be given one. */
export const verifyKeyFromPem = (pem: string): Result.Result<VerifyKey, InvalidTokenKey> => {
  if (pem.includes("PRIVATE KEY")) {
    const message = "the verify key is a private key: give consumers the public one"
    return Result.fail(new InvalidTokenKey({ message }))
  }
  return Result.try({
    try: () => createPublicKey({ key: pem, format: "pem" }),
    catch: (cause) =>
      new InvalidTokenKey({ message: `the verify key is not a public key in PEM (${messageOf(cause)})` })
  }).pipe(
    Result.flatMap((key) => ed25519(key, "the verify key")),
    Result.map((publicKey) => ({ publicKey, pem: String(publicKey.export({ type: "spki", format: "pem" })) }))
  )
}

export interface SigningKeyPair {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: Redacted.Redacted<string>
  /** SPKI PEM. */
  readonly publicKeyPem: string
}

/** A new key pair, as `tokenbus keygen` writes it. */
export const generateSigningKeyPair = (): SigningKeyPair => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519")
  return {
    privateKeyPem: Redacted.make(String(privateKey.export({ type: "pkcs8", format: "pem" }))),
    publicKeyPem: String(publicKey.export({ type: "spki", format: "pem" }))
  }
}

/** The token's signature: 64 bytes in standard base64 with padding. */
export const signToken = (key: SigningKey, token: Token): string =>
  sign(null, canonicalTokenBytes(token), key.privateKey).toString("base64")

const base64Signature = /^[A-Za-z0-9+/]{86}==$/

/** True when one of `keys` verifies `signature` (absent: false) over the token's canonical bytes. */
export const verifyToken = (keys: ReadonlyArray<VerifyKey>, token: Token, signature: string | undefined): boolean => {
  if (signature === undefined || !base64Signature.test(signature)) return false
  const bytes = canonicalTokenBytes(token)
  const raw = Buffer.from(signature, "base64")
  return keys.some((key) => verify(null, bytes, key.publicKey, raw))
}
