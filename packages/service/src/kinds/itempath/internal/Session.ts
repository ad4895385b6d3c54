/**
 * An ItemPath session as the carry holds it: the refresh token, when it
 * expires, and whose it is. The expiry is by the leader's clock when it
 * logged in; the username and base URL say whose session it is, so a config
 * that names another user or installation logs in instead of refreshing
 * someone else's. The carry is JSON inside `Redacted`.
 */
import { Clock, Effect, Option, Redacted, Schema } from "effect"

const Session = Schema.Struct({
  refreshToken: Schema.RedactedFromValue(Schema.NonEmptyString),
  refreshTokenExpiresAt: Schema.Int,
  username: Schema.String,
  baseUrl: Schema.String
})
export type Session = typeof Session.Type

const SessionJson = Schema.fromJsonString(Session)
const encodeSession = Schema.encodeSync(SessionJson)
const decodeSession = Schema.decodeUnknownOption(SessionJson)

/** What decides whether a carried session is still worth a refresh call. */
export interface SessionPolicy {
  readonly username: string
  /** Without a trailing slash. */
  readonly baseUrl: string
  readonly refreshTokenLifetimeSeconds: number
  /** Log in again rather than refresh once the refresh token has less than this left. */
  readonly refreshMarginSeconds: number
}

/** The session a login at `startedAt` opened with `refreshToken`. */
export const openedSession = (
  policy: SessionPolicy,
  refreshToken: Redacted.Redacted<string>,
  startedAt: number
): Session => ({
  refreshToken,
  refreshTokenExpiresAt: startedAt + policy.refreshTokenLifetimeSeconds * 1000,
  username: policy.username,
  baseUrl: policy.baseUrl
})

export const sessionCarry = (session: Session): Redacted.Redacted<string> => Redacted.make(encodeSession(session))

/** The carried session, if there is one worth a refresh call: readable, ours, and not near its end. */
export const carriedSession = Effect.fnUntraced(function*(
  policy: SessionPolicy,
  carry: Redacted.Redacted<string> | undefined
) {
  if (carry === undefined) return undefined
  const session = decodeSession(Redacted.value(carry))
  if (Option.isNone(session)) {
    yield* Effect.logWarning("the stored ItemPath session is unreadable; logging in again")
    return undefined
  }
  if (session.value.username !== policy.username || session.value.baseUrl !== policy.baseUrl) return undefined
  const now = yield* Clock.currentTimeMillis
  const renewAt = session.value.refreshTokenExpiresAt - policy.refreshMarginSeconds * 1000
  return now < renewAt ? session.value : undefined
})
