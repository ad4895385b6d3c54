// AES-256-GCM sealing on the real functions: what a key seals, it and only
// it opens, bound to the additional data it was sealed with; an altered
// envelope, another record's data, another key under the same id or an id
// the reader lacks are refused with the key id named, never the content.
import { describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { Redacted, Result } from "effect"
import {
  isSealed,
  seal,
  sealedWith,
  type SealingError,
  type SealingKey,
  sealingKey,
  sealingKeyFromBase64,
  unseal
} from "../src/Sealing.ts"

const SECRET = "canary-refresh-token-9f8e7d"
const keyOf = (id: string, material: Uint8Array = randomBytes(32)): SealingKey =>
  Result.getOrThrow(sealingKey(id, material))
const iv = () => randomBytes(12)
const sealed = (key: SealingKey, aad: string, plaintext = SECRET) => Result.getOrThrow(seal(key, iv(), aad, plaintext))
const failure = (result: Result.Result<unknown, SealingError>): SealingError =>
  Result.match(result, {
    onSuccess: () => expect.fail("expected a SealingError"),
    onFailure: (error) => error
  })

/** Replaces the character at `index` by another base64url character. */
const alter = (text: string, index: number) =>
  text.slice(0, index) + (text[index] === "A" ? "B" : "A") + text.slice(index + 1)

describe("seal and unseal", () => {
  it("round-trips, with the format and key id in clear and the plaintext nowhere", () => {
    const key = keyOf("2026-01")
    const envelope = sealed(key, "kv:acme:carry")
    expect(envelope.startsWith("a256gcm.2026-01.")).toBe(true)
    expect(envelope.split(".")).toHaveLength(5)
    expect(envelope).not.toContain(SECRET)
    expect(isSealed(envelope)).toBe(true)
    expect(sealedWith(envelope)).toBe("2026-01")
    expect(Result.getOrThrow(unseal([key], "kv:acme:carry", envelope))).toBe(SECRET)
  })

  it("round-trips empty and non-ASCII plaintexts", () => {
    const key = keyOf("k1")
    for (const plaintext of ["", "clé-🔑-токен"]) {
      expect(Result.getOrThrow(unseal([key], "a", sealed(key, "a", plaintext)))).toBe(plaintext)
    }
  })

  it("a new IV gives a new envelope for the same plaintext", () => {
    const key = keyOf("k1")
    expect(sealed(key, "a")).not.toBe(sealed(key, "a"))
  })

  it("opens with whichever key of the ring the envelope names", () => {
    const old = keyOf("old")
    const next = keyOf("new")
    const ring = [next, old]
    expect(Result.getOrThrow(unseal(ring, "a", sealed(old, "a", "by-old")))).toBe("by-old")
    expect(Result.getOrThrow(unseal(ring, "a", sealed(next, "a", "by-new")))).toBe("by-new")
  })

  it("an id the reader does not hold is refused as unknown, naming the id", () => {
    const error = failure(unseal([keyOf("k2")], "a", sealed(keyOf("k1"), "a")))
    expect(error.reason).toBe("unknown-key")
    expect(error.keyId).toBe("k1")
    expect(error.message).toContain("k1")
  })

  it("another key under the same id is refused, naming the id and nothing secret", () => {
    const material = randomBytes(32)
    const error = failure(unseal([keyOf("k1")], "a", sealed(keyOf("k1", material), "a")))
    expect(error.reason).toBe("rejected")
    expect(error.keyId).toBe("k1")
    expect(error.message).toContain("k1")
    expect(error.message).not.toContain(SECRET)
    expect(error.message).not.toContain(material.toString("base64"))
    expect(error.message).not.toContain(material.toString("base64url"))
  })

  it("other additional data is refused: a value sealed for one record does not open in another", () => {
    const key = keyOf("k1")
    expect(failure(unseal([key], "kv:other:carry", sealed(key, "kv:acme:carry"))).reason).toBe("rejected")
    expect(failure(unseal([key], "kv:acme:accessToken", sealed(key, "kv:acme:carry"))).reason).toBe("rejected")
  })

  it("an altered IV, ciphertext or tag is refused", () => {
    const key = keyOf("k1")
    const envelope = sealed(key, "a")
    const [format, id, ivPart, ciphertext, tag] = envelope.split(".") as [string, string, string, string, string]
    const starts = {
      iv: `${format}.${id}.`.length,
      ciphertext: `${format}.${id}.${ivPart}.`.length,
      tag: `${format}.${id}.${ivPart}.${ciphertext}.`.length
    }
    for (const [what, start] of Object.entries(starts)) {
      const error = failure(unseal([key], "a", alter(envelope, start + 1)))
      expect(error.reason, what).toBe("rejected")
    }
    expect(tag.length).toBeGreaterThan(0)
  })

  it("the key id is authenticated: an envelope relabelled to another id of the same key is refused", () => {
    const material = randomBytes(32)
    const envelope = sealed(keyOf("k1", material), "a")
    const relabelled = envelope.replace("a256gcm.k1.", "a256gcm.k2.")
    expect(failure(unseal([keyOf("k2", material)], "a", relabelled)).reason).toBe("rejected")
  })

  it("what is not a well-formed envelope is refused as malformed", () => {
    const key = keyOf("k1")
    const envelope = sealed(key, "a")
    const parts = envelope.split(".")
    const cases = [
      "plain-token",
      parts.slice(0, 4).join("."),
      `${envelope}.extra`,
      [parts[0], parts[1], "AAAA", parts[3], parts[4]].join("."),
      [parts[0], parts[1], parts[2], "not base64!", parts[4]].join("."),
      envelope.replace("a256gcm.", "a128gcm.")
    ]
    for (const text of cases) expect(failure(unseal([key], "a", text)).reason, text).toBe("malformed")
    expect(isSealed("plain-token")).toBe(false)
    expect(sealedWith("plain-token")).toBeUndefined()
  })

  it("an IV of another size is refused before anything is sealed", () => {
    const error = failure(seal(keyOf("k1"), randomBytes(16), "a", SECRET))
    expect(error.reason).toBe("invalid-iv")
  })
})

describe("keys", () => {
  it("takes the base64 or base64url of 32 bytes, as openssl rand -base64 32 prints it", () => {
    const material = randomBytes(32)
    const texts = [material.toString("base64"), material.toString("base64url"), ` ${material.toString("base64")}\n`]
    for (const text of texts) {
      const key = Result.getOrThrow(sealingKeyFromBase64("k1", Redacted.make(text)))
      expect(Buffer.from(Redacted.value(key.material)).equals(material)).toBe(true)
    }
  })

  it("refuses another length or what is not base64, saying what a key must be and never what it got", () => {
    const short = randomBytes(16).toString("base64")
    const tooShort = failure(sealingKeyFromBase64("k1", Redacted.make(short)))
    expect(tooShort.message).toBe("key k1 is 16 bytes; it must be the base64 of 32 random bytes")
    expect(tooShort.message).not.toContain(short)
    const notBase64 = failure(sealingKeyFromBase64("k1", Redacted.make("not a key, a passphrase!")))
    expect(notBase64.message).toBe("key k1 is not base64; it must be the base64 of 32 random bytes")
  })

  it("refuses an id that could not sit in an envelope", () => {
    for (const id of ["", "a.b", "key id", "x".repeat(65)]) {
      expect(failure(sealingKey(id, randomBytes(32))).reason, id).toBe("invalid-key")
    }
  })

  it("a key prints as redacted", () => {
    const material = randomBytes(32)
    const key = keyOf("k1", material)
    expect(JSON.stringify(key)).not.toContain(material.toString("base64"))
    expect(String(key.material)).toBe("<redacted>")
  })
})
