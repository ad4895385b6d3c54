// The token of PROTOCOL.md's worked examples: the one the signature and the
// sealed envelope given there are made of, so the tests of both read it here.
import { Redacted } from "effect"
import { Token } from "../../src/Token.ts"

export const exampleToken = new Token({
  provider: "project44",
  version: 1_795_458_490_414_000,
  accessToken: Redacted.make("p44_example"),
  tokenType: "BEARER",
  issuedAt: 1_795_458_490_414,
  expiresAt: 1_795_501_690_414,
  reason: "initial"
})
