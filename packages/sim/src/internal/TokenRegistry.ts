/**
 * The set of access tokens the simulated upstream has issued. Like project44,
 * minting a new token does not invalidate earlier ones: a token stops working
 * only when it expires or is revoked.
 */
import { randomBytes } from "node:crypto"

export interface TokenRegistry {
  /** Issues a fresh opaque token valid for `lifetimeMs` of `now()` time. */
  readonly mint: (lifetimeMs: number) => string
  readonly isValid: (accessToken: string) => boolean
  readonly revoke: (accessToken: string) => void
  readonly revokeAll: () => void
  readonly issued: () => ReadonlyArray<string>
}

interface IssuedToken {
  readonly expiresAt: number
  revoked: boolean
}

export const makeTokenRegistry = (now: () => number): TokenRegistry => {
  // A Map keeps insertion order, which is the issue order `issued()` promises.
  const tokens = new Map<string, IssuedToken>()

  const mint = (lifetimeMs: number): string => {
    const accessToken = `p44_${randomBytes(16).toString("hex")}`
    tokens.set(accessToken, { expiresAt: now() + lifetimeMs, revoked: false })
    return accessToken
  }

  const isValid = (accessToken: string): boolean => {
    const token = tokens.get(accessToken)
    return token !== undefined && !token.revoked && now() < token.expiresAt
  }

  const revoke = (accessToken: string): void => {
    const token = tokens.get(accessToken)
    if (token !== undefined) token.revoked = true
  }

  const revokeAll = (): void => {
    for (const token of tokens.values()) token.revoked = true
  }

  return { mint, isValid, revoke, revokeAll, issued: () => [...tokens.keys()] }
}
