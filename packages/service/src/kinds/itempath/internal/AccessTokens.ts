/**
 * Minting ItemPath's 15-minute access tokens. The first mint logs in; the
 * refresh token travels in the carry (see Session.ts), so every later mint
 * costs one refresh call, across failovers too. A refresh token the upstream
 * refuses costs one login more; one that is near its end is not tried, a
 * login replaces it.
 */
import { Clock, Effect, type Redacted } from "effect"
import type { MintedToken, MintInput } from "../../ProviderKind.ts"
import { carriedSession, openedSession, type Session, sessionCarry, type SessionPolicy } from "./Session.ts"
import type { UserEndpoints } from "./UserEndpoints.ts"

export interface AccessTokenPolicy extends SessionPolicy {
  /** ItemPath's access token lifetime; it does not say so in its answers. */
  readonly accessTokenLifetimeSeconds: number
}

/**
 * Statuses of a refused refresh token: 401 (expired, revoked), 403, and 422,
 * which flask-jwt-extended (whose claims ItemPath's JWTs carry) answers to a
 * token it cannot read, such as one signed by another installation. A login
 * may still work after any of them.
 */
const refusedSession = new Set([401, 403, 422])

export const accessTokenMint = (policy: AccessTokenPolicy, endpoints: UserEndpoints) => {
  const minted = (accessToken: Redacted.Redacted<string>, session: Session): MintedToken => ({
    accessToken,
    tokenType: "Bearer",
    expiresInSeconds: policy.accessTokenLifetimeSeconds,
    carry: sessionCarry(session)
  })

  const login = Effect.gen(function*() {
    // Taken before the call, so the stored expiry errs on the early side.
    const startedAt = yield* Clock.currentTimeMillis
    const reply = yield* endpoints.login
    return minted(reply.accessToken, openedSession(policy, reply.refreshToken, startedAt))
  })

  const refreshOrLogin = (session: Session) =>
    endpoints.refresh(session.refreshToken).pipe(
      Effect.map((accessToken) => minted(accessToken, session)),
      Effect.catchIf(
        (error) => error.status !== undefined && refusedSession.has(error.status),
        (error) =>
          Effect.logInfo(`ItemPath refused the stored refresh token (${error.status}); logging in again`).pipe(
            Effect.andThen(login)
          )
      )
    )

  return Effect.fnUntraced(function*({ carry }: MintInput) {
    const session = yield* carriedSession(policy, carry)
    return yield* session === undefined ? login : refreshOrLogin(session)
  })
}
