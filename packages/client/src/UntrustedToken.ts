/**
 * The service's reply carried a token the client may not use: not signed by
 * the cluster's key (`verifyKey`), not of the provider asked for, or with a
 * version far ahead of the clock. Someone other than the cluster may have
 * answered the request; the token was dropped, and asking again may reach a
 * real replica.
 */
import type { TokenRefusal } from "@tokenbus/core"
import { Data } from "effect"

export class UntrustedToken extends Data.TaggedError("UntrustedToken")<{
  readonly provider: string
  readonly reason: TokenRefusal
  readonly message: string
}> {}
