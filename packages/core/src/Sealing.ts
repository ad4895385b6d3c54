/**
 * Sealing a secret (a token, a refresh token) with AES-256-GCM, into an
 * envelope that names its format and key, so keys rotate: a reader holding
 * several keys unseals whatever any of them sealed, and a writer seals with
 * one. The envelope is one string of five dot-separated parts,
 *
 *   a256gcm.<key id>.<iv>.<ciphertext>.<tag>
 *
 * the last three in unpadded base64url: 12 bytes of IV, the UTF-8 plaintext
 * encrypted, 16 bytes of authentication tag. Opening checks the tag over the
 * ciphertext, the envelope's header (format and key id) and the caller's
 * additional data, such as the record the secret belongs to, so a sealed
 * value copied into another record, or another field, does not open.
 *
 * The IV is an argument: the caller draws 12 random bytes per seal and
 * never reuses them with one key, so this module stays deterministic.
 * Errors name the key id, never the key or the content.
 */
import { createCipheriv, createDecipheriv } from "node:crypto"
import { Data, Redacted, Result, Schema } from "effect"

export const sealingFormat = "a256gcm"
export const sealingKeyBytes = 32
export const sealingIvBytes = 12
const tagBytes = 16

/** What an envelope names its key by: safe in the envelope, in logs and in a config file. */
export const SealingKeyId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_-]{1,64}$/, {
    message: "a key id is 1-64 characters of A-Z, a-z, 0-9, '_' and '-'"
  })
)

/** An AES-256 key and its id. */
export interface SealingKey {
  readonly id: string
  readonly material: Redacted.Redacted<Uint8Array>
}

/** The keys a reader opens with, and the one it seals with (among them). */
export interface KeyRing {
  readonly write: SealingKey
  readonly keys: ReadonlyArray<SealingKey>
}

export type SealingFailure = "invalid-key" | "invalid-iv" | "malformed" | "unknown-key" | "rejected"

export class SealingError extends Data.TaggedError("SealingError")<{
  readonly reason: SealingFailure
  /** The key the envelope names, when it names one. */
  readonly keyId: string | undefined
  readonly message: string
}> {}

const validId = Schema.is(SealingKeyId)

/** A key from its 32 bytes; `id` must be a `SealingKeyId`. */
export const sealingKey = (id: string, material: Uint8Array): Result.Result<SealingKey, SealingError> => {
  if (!validId(id)) {
    return Result.fail(new SealingError({ reason: "invalid-key", keyId: undefined, message: "invalid key id" }))
  }
  if (material.length !== sealingKeyBytes) {
    const message = `key ${id} is ${material.length} bytes; AES-256 needs ${sealingKeyBytes}`
    return Result.fail(new SealingError({ reason: "invalid-key", keyId: id, message }))
  }
  return Result.succeed({ id, material: Redacted.make(Uint8Array.from(material)) })
}

const base64 = /^[A-Za-z0-9+/_-]+={0,2}$/

/** A key from the base64 (or base64url) of its 32 bytes, as `openssl rand -base64 32` prints it. */
export const sealingKeyFromBase64 = (
  id: string,
  text: Redacted.Redacted<string>
): Result.Result<SealingKey, SealingError> => {
  const trimmed = Redacted.value(text).trim()
  if (!base64.test(trimmed)) {
    const message = `key ${id} is not base64; it must be the base64 of ${sealingKeyBytes} random bytes`
    return Result.fail(new SealingError({ reason: "invalid-key", keyId: id, message }))
  }
  const bytes = Buffer.from(trimmed, "base64")
  if (bytes.length !== sealingKeyBytes) {
    const message = `key ${id} is ${bytes.length} bytes; it must be the base64 of ${sealingKeyBytes} random bytes`
    return Result.fail(new SealingError({ reason: "invalid-key", keyId: id, message }))
  }
  return sealingKey(id, bytes)
}

const header = (keyId: string) => `${sealingFormat}.${keyId}.`
const encode = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")

/** Seals `plaintext` with `key`, bound to `aad`; `iv` is 12 random bytes never used with `key` before. */
export const seal = (
  key: SealingKey,
  iv: Uint8Array,
  aad: string,
  plaintext: string
): Result.Result<string, SealingError> => {
  if (iv.length !== sealingIvBytes) {
    const message = `an IV is ${sealingIvBytes} bytes, not ${iv.length}`
    return Result.fail(new SealingError({ reason: "invalid-iv", keyId: key.id, message }))
  }
  const cipher = createCipheriv("aes-256-gcm", Redacted.value(key.material), iv, { authTagLength: tagBytes })
  cipher.setAAD(Buffer.from(header(key.id) + aad, "utf8"))
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
  return Result.succeed(header(key.id) + [iv, ciphertext, cipher.getAuthTag()].map(encode).join("."))
}

/** True when `text` is in the envelope's format (it may still be malformed): a value written in clear is not. */
export const isSealed = (text: string): boolean => text.startsWith(`${sealingFormat}.`)

interface Envelope {
  readonly keyId: string
  readonly iv: Buffer
  readonly ciphertext: Buffer
  readonly tag: Buffer
}

const part = /^[A-Za-z0-9_-]*$/

const parse = (text: string): Result.Result<Envelope, SealingError> => {
  const [format, keyId, iv, ciphertext, tag, ...rest] = text.split(".")
  const named = keyId !== undefined && validId(keyId) ? keyId : undefined
  const malformed = (why: string) => {
    const message = `not a well-formed ${sealingFormat} envelope: ${why}`
    return Result.fail(new SealingError({ reason: "malformed", keyId: named, message }))
  }
  if (format !== sealingFormat || named === undefined) return malformed("no format and key id")
  if (iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0) {
    return malformed("not five parts")
  }
  if (![iv, ciphertext, tag].every((p) => part.test(p))) return malformed("a part is not base64url")
  const envelope = {
    keyId: named,
    iv: Buffer.from(iv, "base64url"),
    ciphertext: Buffer.from(ciphertext, "base64url"),
    tag: Buffer.from(tag, "base64url")
  }
  if (envelope.iv.length !== sealingIvBytes || envelope.tag.length !== tagBytes) {
    return malformed("an IV or tag of the wrong size")
  }
  return Result.succeed(envelope)
}

/** The id of the key `text` was sealed with, if it is a well-formed envelope. */
export const sealedWith = (text: string): string | undefined =>
  Result.match(parse(text), { onFailure: () => undefined, onSuccess: (envelope) => envelope.keyId })

/** Opens `envelope` with the key of `keys` it names, checking it was sealed bound to `aad`. */
export const unseal = (
  keys: ReadonlyArray<SealingKey>,
  aad: string,
  envelope: string
): Result.Result<string, SealingError> =>
  Result.flatMap(parse(envelope), ({ ciphertext, iv, keyId, tag }) => {
    const key = keys.find((candidate) => candidate.id === keyId)
    if (key === undefined) {
      const message = `sealed with key ${keyId}, which is not among the keys given`
      return Result.fail(new SealingError({ reason: "unknown-key", keyId, message }))
    }
    return Result.try({
      try: () => {
        const material = Redacted.value(key.material)
        const decipher = createDecipheriv("aes-256-gcm", material, iv, { authTagLength: tagBytes })
        decipher.setAAD(Buffer.from(header(keyId) + aad, "utf8"))
        decipher.setAuthTag(tag)
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8")
      },
      catch: () =>
        new SealingError({
          reason: "rejected",
          keyId,
          message: `does not open with key ${keyId}: altered, sealed for something else, or another key under that id`
        })
    })
  })
