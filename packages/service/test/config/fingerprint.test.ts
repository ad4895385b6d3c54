// The breaker trusts this to notice a rotated secret, and to notice nothing else.
import { describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import { fingerprint } from "../src/internal/fingerprint.ts"

const provider = (secret: string) => ({ id: "p44", clientId: "a", clientSecret: Redacted.make(secret), reload: () => 0 })

describe("fingerprint", () => {
  it("changes when a secret changes", () => {
    expect(fingerprint(provider("one"))).not.toBe(fingerprint(provider("two")))
  })
  it("is stable for the same configuration", () => {
    expect(fingerprint(provider("one"))).toBe(fingerprint(provider("one")))
  })
  it("does not contain the secret", () => {
    expect(fingerprint(provider("s3cret-value"))).not.toContain("s3cret")
    expect(fingerprint(provider("s3cret-value"))).toMatch(/^[0-9a-f]{32}$/)
  })
})
