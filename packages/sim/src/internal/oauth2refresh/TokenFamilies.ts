/**
 * The refresh and access tokens the simulated OAuth2 server has issued,
 * grouped in families: one family per grant (a user's consent), holding every
 * refresh token that rotation derived from it and every access token they
 * produced. With rotation, redeeming a refresh token retires it; presenting a
 * retired one again means two parties hold the family's tokens, so, as real
 * providers do (RFC 9700 §4.14.2), the whole family is revoked, access tokens
 * included, and the legitimate holder has to get a new grant too.
 */
import { randomBytes } from "node:crypto"

export interface Lifetimes {
  readonly accessTokenMs: number
  /** Undefined: refresh tokens never expire by age. Each rotated token gets a full lifetime. */
  readonly refreshTokenMs: number | undefined
}

export type Redemption =
  | { readonly _tag: "Granted"; readonly accessToken: string; readonly refreshToken: string | undefined }
  | { readonly _tag: "Rejected"; readonly reason: "unknown" | "expired" | "revoked" }
  /** A retired refresh token came back: its family is now revoked. */
  | { readonly _tag: "Reused" }

export interface TokenFamilies {
  /** Starts a family, as a user's consent would, and returns its first refresh token. */
  readonly start: (lifetimes: Lifetimes) => string
  /** With `rotate`, the presented token is retired and a new one returned; without, it stays valid. */
  readonly redeem: (refreshToken: string, lifetimes: Lifetimes, rotate: boolean) => Redemption
  readonly isAccessTokenValid: (accessToken: string) => boolean
  /** Revokes one token, refresh or access; its family lives on. */
  readonly revoke: (token: string) => void
  readonly revokeAll: () => void
  /** In issue order, retired, revoked and expired ones included. */
  readonly issuedAccessTokens: () => ReadonlyArray<string>
  readonly issuedRefreshTokens: () => ReadonlyArray<string>
}

interface Family {
  revoked: boolean
}

interface IssuedToken {
  readonly family: Family
  readonly expiresAt: number
  revoked: boolean
  /** Refresh tokens only: redeemed under rotation. */
  retired: boolean
}

export const makeTokenFamilies = (now: () => number): TokenFamilies => {
  // Maps keep insertion order, which is the issue order the `issued*` lists promise.
  const refreshTokens = new Map<string, IssuedToken>()
  const accessTokens = new Map<string, IssuedToken>()

  const issue = (into: Map<string, IssuedToken>, prefix: string, family: Family, lifetimeMs: number | undefined) => {
    const token = `${prefix}${randomBytes(16).toString("hex")}`
    const expiresAt = lifetimeMs === undefined ? Infinity : now() + lifetimeMs
    into.set(token, { family, expiresAt, revoked: false, retired: false })
    return token
  }

  const isLive = (token: IssuedToken): boolean => !token.revoked && !token.family.revoked && now() < token.expiresAt

  const redeem = (presented: string, lifetimes: Lifetimes, rotate: boolean): Redemption => {
    const token = refreshTokens.get(presented)
    if (token === undefined) return { _tag: "Rejected", reason: "unknown" }
    if (token.revoked || token.family.revoked) return { _tag: "Rejected", reason: "revoked" }
    if (token.retired) {
      token.family.revoked = true
      return { _tag: "Reused" }
    }
    if (now() >= token.expiresAt) return { _tag: "Rejected", reason: "expired" }
    const accessToken = issue(accessTokens, "at_", token.family, lifetimes.accessTokenMs)
    if (!rotate) return { _tag: "Granted", accessToken, refreshToken: undefined }
    token.retired = true
    return { _tag: "Granted", accessToken, refreshToken: issue(refreshTokens, "rt_", token.family, lifetimes.refreshTokenMs) }
  }

  const revoke = (presented: string): void => {
    const token = refreshTokens.get(presented) ?? accessTokens.get(presented)
    if (token !== undefined) token.revoked = true
  }

  const revokeAll = (): void => {
    for (const token of [...refreshTokens.values(), ...accessTokens.values()]) token.family.revoked = true
  }

  return {
    start: (lifetimes) => issue(refreshTokens, "rt_", { revoked: false }, lifetimes.refreshTokenMs),
    redeem,
    isAccessTokenValid: (accessToken) => {
      const token = accessTokens.get(accessToken)
      return token !== undefined && isLive(token)
    },
    revoke,
    revokeAll,
    issuedAccessTokens: () => [...accessTokens.keys()],
    issuedRefreshTokens: () => [...refreshTokens.keys()]
  }
}
