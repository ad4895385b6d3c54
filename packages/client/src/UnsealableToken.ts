/**
 * The service's reply carried a token sealed for the holders of the
 * cluster's bus key (PROTOCOL.md, "Sealed tokens") that this client cannot
 * open: it was given no bus key, not the one the token names (`keyId`), or
 * a key under that id that is not the cluster's, or the token was altered.
 * Give the client the cluster's bus keys (`busKeys`); asking again does not
 * help until then.
 */
import { isSealedToken, sealedWith, type WireToken } from "@tokenbus/core"
import { Data } from "effect"

export type UnsealableReason = "sealed-unknown-key" | "sealed-rejected"

export class UnsealableToken extends Data.TaggedError("UnsealableToken")<{
  readonly provider: string
  /** `sealed-unknown-key`: no key of that id was given; `sealed-rejected`: the key of that id does not open it. */
  readonly reason: UnsealableReason
  /** The id of the bus key the token was sealed with, when the envelope names one. */
  readonly keyId: string | undefined
  readonly message: string
}> {}

/** The error for `token`, received for `provider`, which the cache could not open for `reason`. */
export const unsealableToken = (provider: string, reason: UnsealableReason, token: WireToken): UnsealableToken => {
  const keyId = isSealedToken(token) ? sealedWith(token.sealedAccessToken) : undefined
  const key = keyId === undefined ? "a bus key" : `bus key ${keyId}`
  const message = reason === "sealed-unknown-key"
    ? `tokenbus sealed the token of ${provider} with ${key}, which this client was not given (busKeys)`
    : `the token of ${provider} is sealed with ${key} and does not open with the key given under that id ` +
      "(busKeys): the key is not the cluster's, or the token was altered"
  return new UnsealableToken({ provider, reason, keyId, message })
}
