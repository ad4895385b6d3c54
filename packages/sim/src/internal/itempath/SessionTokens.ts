/**
 * Every token the simulated ItemPath has issued, of its three kinds: access
 * tokens (short-lived, for the API), refresh tokens (long-lived, only for
 * `/api/users/refresh` and `/api/users/application-token`) and application
 * tokens (for the API, never expiring). As with ItemPath's JWTs, the kinds are
 * independent: revoking a refresh token leaves the access tokens it produced
 * working until they expire.
 */
import { randomBytes } from "node:crypto"

export type TokenKind = "access" | "refresh" | "application"

/** Why a presented token is refused; the simulator puts it in its 401 body. */
export type TokenProblem = "missing" | "unknown" | "expired" | "revoked"

export interface SessionTokens {
  /** Issues a fresh opaque token; `lifetimeMs` undefined means it never expires. */
  readonly issue: (kind: TokenKind, lifetimeMs: number | undefined) => string
  /** Why `token` cannot be used as one of `kinds`, or undefined when it can. */
  readonly problem: (token: string | undefined, kinds: ReadonlyArray<TokenKind>) => TokenProblem | undefined
  readonly revoke: (token: string) => void
  readonly revokeKind: (kind: TokenKind) => void
  readonly revokeAll: () => void
  /** Tokens of `kind` in issue order, revoked and expired ones included. */
  readonly issued: (kind: TokenKind) => ReadonlyArray<string>
}

interface IssuedToken {
  readonly kind: TokenKind
  readonly expiresAt: number
  revoked: boolean
}

const prefixes: Record<TokenKind, string> = { access: "ipa_", refresh: "ipr_", application: "ipx_" }

export const makeSessionTokens = (now: () => number): SessionTokens => {
  // A Map keeps insertion order, which is the issue order `issued()` promises.
  const tokens = new Map<string, IssuedToken>()

  const issue = (kind: TokenKind, lifetimeMs: number | undefined): string => {
    const token = `${prefixes[kind]}${randomBytes(16).toString("hex")}`
    tokens.set(token, { kind, expiresAt: lifetimeMs === undefined ? Infinity : now() + lifetimeMs, revoked: false })
    return token
  }

  const problem = (token: string | undefined, kinds: ReadonlyArray<TokenKind>): TokenProblem | undefined => {
    if (token === undefined) return "missing"
    const issued = tokens.get(token)
    if (issued === undefined || !kinds.includes(issued.kind)) return "unknown"
    if (issued.revoked) return "revoked"
    return now() < issued.expiresAt ? undefined : "expired"
  }

  const revoke = (token: string): void => {
    const issued = tokens.get(token)
    if (issued !== undefined) issued.revoked = true
  }

  const revokeWhere = (matches: (token: IssuedToken) => boolean): void => {
    for (const token of tokens.values()) if (matches(token)) token.revoked = true
  }

  return {
    issue,
    problem,
    revoke,
    revokeKind: (kind) => revokeWhere((issued) => issued.kind === kind),
    revokeAll: () => revokeWhere(() => true),
    issued: (kind) => [...tokens].filter(([, issued]) => issued.kind === kind).map(([token]) => token)
  }
}
