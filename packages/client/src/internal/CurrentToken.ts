/**
 * Which held token counts as current: one whose `expiresAt` has not passed,
 * or an expired one the service answered with when asked (a provider renewed
 * only on 401, whose token nobody used since it expired: the consumer's 401
 * and its report are how the next one comes). Any other expired token is
 * asked about, and not handed out when the service does not answer.
 */
import type { ProtocolError, Token, TokenCache } from "@tokenbus/core"
import { type Clock, Effect } from "effect"
import type { NotPermitted } from "../NotPermitted.ts"
import { ServiceUnavailable } from "../ServiceUnavailable.ts"
import type { UnsealableToken } from "../UnsealableToken.ts"
import type { UntrustedToken } from "../UntrustedToken.ts"

type AskError = ProtocolError | ServiceUnavailable | NotPermitted | UntrustedToken | UnsealableToken

export interface CurrentTokenOptions {
  readonly cache: TokenCache
  readonly clock: Clock.Clock
  /** Asks the service for the provider's current token. */
  readonly askGet: (provider: string) => Effect.Effect<Token, AskError>
}

export const makeCurrentToken = ({ askGet, cache, clock }: CurrentTokenOptions) => {
  /** Per provider, the version of an expired token the service confirmed, served until a newer one arrives. */
  const confirmed = new Map<string, number>()

  const unexpired = (token: Token): boolean =>
    token.expiresAt === undefined || clock.currentTimeMillisUnsafe() < token.expiresAt

  /** The held token unless it has expired: what `peek` returns. */
  const peek = (provider: string): Token | undefined => {
    const token = cache.get(provider)
    return token !== undefined && unexpired(token) ? token : undefined
  }

  const getToken = (provider: string): Effect.Effect<Token, AskError> => {
    const token = cache.get(provider)
    if (token !== undefined && (unexpired(token) || confirmed.get(provider) === token.version)) {
      return Effect.succeed(token)
    }
    if (token?.expiresAt === undefined) return askGet(provider)
    const expiredAt = new Date(token.expiresAt).toISOString()
    return askGet(provider).pipe(
      Effect.tap((answer) =>
        Effect.sync(() => {
          if (!unexpired(answer)) confirmed.set(provider, answer.version)
        })
      ),
      Effect.mapError((error) =>
        error._tag === "ServiceUnavailable"
          ? new ServiceUnavailable({ provider, message: `${error.message}; the token held expired at ${expiredAt}` })
          : error
      )
    )
  }

  return { peek, getToken }
}
