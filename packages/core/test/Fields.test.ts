import { describe, expect, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { Millis, TokenUpdateJson } from "../src/index.ts"

const decodes = (schema: Schema.Top, input: unknown) =>
  Result.isSuccess(Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)(input))

describe("Millis", () => {
  it("accepts zero and finite times", () => {
    expect(decodes(Millis, 0)).toBe(true)
    expect(decodes(Millis, 1_796_167_274_245.5)).toBe(true)
  })

  it("refuses infinities and NaN, which JSON cannot carry back", () => {
    expect(decodes(Millis, Number.POSITIVE_INFINITY)).toBe(false)
    expect(decodes(Millis, Number.NaN)).toBe(false)
    expect(decodes(Millis, -1)).toBe(false)
  })

  it("refuses an update whose times overflow to Infinity when parsed (1e400)", () => {
    const update = (issuedAt: string) =>
      `{"v":1,"token":{"provider":"p","version":1,"accessToken":"t","tokenType":"Bearer","issuedAt":${issuedAt},"reason":"initial"}}`
    expect(decodes(TokenUpdateJson, update("1000"))).toBe(true)
    expect(decodes(TokenUpdateJson, update("1e400"))).toBe(false)
  })
})
