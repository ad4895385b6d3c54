/**
 * The client microservices use. It keeps the newest token of each provider in
 * memory, kept current by the service's broadcast (and fetched again after a
 * reconnect, since broadcasts sent meanwhile are lost), so `getToken` answers
 * without a network round trip once it holds a token that has not expired. A
 * 401 from the upstream is reported with `reportUnauthorized`, which returns
 * the token to use next; `fetch` does all of that around one HTTP call,
 * retrying once (`http/tokenFetch.ts`). It follows the updates of each
 * provider it has asked for, not every provider's. Given the cluster's
 * public key (`verifyKey`), it keeps only tokens the cluster signed; given
 * its bus keys (`busKeys`), it opens the tokens the cluster sealed.
 */
import {
  defaultPrefix,
  makeBoundedWarning,
  makeSubjects,
  type ProtocolError,
  protocolVersion,
  type SealingKey,
  sealingKeyFromBase64,
  type Token,
  TokenCache,
  type VerifyKey,
  verifyKeyFromPem
} from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { Clock, Context, Effect, Layer, Redacted, Result } from "effect"
import type { FetchFailed } from "./http/FetchFailed.ts"
import { tokenFetch, type TokenFetchInit } from "./http/tokenFetch.ts"
import { makeAskService } from "./internal/AskService.ts"
import { catchUpOnReconnect } from "./internal/CatchUp.ts"
import { makeCurrentToken } from "./internal/CurrentToken.ts"
import { makeProviderUpdates } from "./internal/ProviderUpdates.ts"
import type { NotPermitted } from "./NotPermitted.ts"
import { ServiceUnavailable } from "./ServiceUnavailable.ts"
import {
  defaultRequestTimeoutMillis,
  natsOptionsOf,
  type TokenClientConnectOptions,
  type TokenClientOptions
} from "./TokenClientOptions.ts"
import type { UnsealableToken } from "./UnsealableToken.ts"
import type { UntrustedToken } from "./UntrustedToken.ts"

export type TokenClientError = ProtocolError | ServiceUnavailable | NotPermitted | UntrustedToken | UnsealableToken

export class TokenClient extends Context.Service<TokenClient, {
  /** The token held for `provider`, if any and not past its `expiresAt`: a synchronous memory read. */
  readonly peek: (provider: string) => Token | undefined
  /** The current token: from memory when held and not expired, else from the service. */
  readonly getToken: (provider: string) => Effect.Effect<Token, TokenClientError>
  /** Says `token` got a 401 upstream; returns the token to use instead. */
  readonly reportUnauthorized: (token: Token) => Effect.Effect<Token, TokenClientError>
  /**
   * `fetch` with `Authorization: Bearer <token>`. On a 401 it reports the
   * token and retries once with the new one, if the request is safe to
   * repeat (an idempotent method, an `Idempotency-Key`, or
   * `init.retryNonIdempotent`); otherwise, or when no newer token can be had
   * yet, it hands the 401 back.
   */
  readonly fetch: (
    provider: string,
    input: string | URL | Request,
    init?: TokenFetchInit
  ) => Effect.Effect<Response, TokenClientError | FetchFailed>
}>()("@tokenbus/client/TokenClient") {
  /** A client on a NATS connection the application already has. */
  static readonly layer = (options: TokenClientOptions = {}): Layer.Layer<TokenClient, never, NatsConnection> =>
    Layer.effect(TokenClient, make(options))

  /**
   * A client with a connection of its own, drained when the layer is
   * released. NATS unreachable at start fails it with `ServiceUnavailable`,
   * unless `nats.waitOnFirstConnect` makes it wait.
   */
  static readonly layerConnect = (options: TokenClientConnectOptions): Layer.Layer<TokenClient, ServiceUnavailable> =>
    TokenClient.layer(options).pipe(
      Layer.provide(
        NatsConnection.layer(natsOptionsOf(options)).pipe(
          Layer.catchTag("NatsConnectError", (error) =>
            Layer.effect(NatsConnection, Effect.fail(new ServiceUnavailable({ message: error.message }))))
        )
      )
    )
}

const getPayload = JSON.stringify({ v: protocolVersion })

/** The keys of `verifyKey`; one that is not an Ed25519 public key is a mistake in the code that made the client. */
const verifyKeysOf = (options: TokenClientOptions): Effect.Effect<ReadonlyArray<VerifyKey>> => {
  const { verifyKey = [] } = options
  return Effect.forEach(typeof verifyKey === "string" ? [verifyKey] : verifyKey, (pem) => {
    const key = verifyKeyFromPem(pem)
    return Result.isSuccess(key) ? Effect.succeed(key.success) : Effect.die(key.failure)
  })
}

/** The keys of `busKeys`; one that is not the base64 of 32 bytes is a mistake in the code that made the client. */
const busKeysOf = (options: TokenClientOptions): Effect.Effect<ReadonlyArray<SealingKey>> =>
  Effect.forEach(options.busKeys ?? [], ({ id, key }) => {
    const opened = sealingKeyFromBase64(id, typeof key === "string" ? Redacted.make(key) : key)
    return Result.isSuccess(opened) ? Effect.succeed(opened.success) : Effect.die(opened.failure)
  })

export const droppedTokensMessage = "dropped tokens that failed verification; the token held is kept"

const make = Effect.fnUntraced(function*(options: TokenClientOptions) {
  const nats = yield* NatsConnection
  const clock = yield* Clock.Clock
  const subjects = makeSubjects(options.prefix ?? defaultPrefix)
  const verifyKeys = yield* verifyKeysOf(options)
  const busKeys = yield* busKeysOf(options)
  const cache = new TokenCache({ verifyKeys, busKeys, now: () => clock.currentTimeMillisUnsafe() })
  /** The providers `cache` holds a token of: what a reconnect fetches again. */
  const held = new Set<string>()
  const kept = (provider: string) => void held.add(provider)
  const dropped = yield* makeBoundedWarning(droppedTokensMessage)
  const timeoutMillis = options.requestTimeoutMillis ?? defaultRequestTimeoutMillis
  const ask = makeAskService({ nats, cache, timeoutMillis, kept, dropped })
  const { following, refused } = yield* makeProviderUpdates({ nats, subjects, cache, kept, dropped })

  const askGet = (provider: string) => following(provider, ask(provider, subjects.get(provider), getPayload))
  const current = makeCurrentToken({ cache, clock, askGet })
  // A token whose updates NATS refused is not kept current: not handed out, and asked for (and refused) again.
  const peek = (provider: string) => (refused(provider) ? undefined : current.peek(provider))
  const getToken = (provider: string) => (refused(provider) ? askGet(provider) : current.getToken(provider))

  const reportUnauthorized = Effect.fn("TokenClient.reportUnauthorized")(function*(token: Token) {
    const newer = peek(token.provider)
    if (newer !== undefined && newer.version > token.version) return newer
    const report = JSON.stringify({ v: protocolVersion, version: token.version })
    return yield* following(token.provider, ask(token.provider, subjects.unauthorized(token.provider), report))
  })

  yield* catchUpOnReconnect(nats.reconnects, () => held, askGet)

  return TokenClient.of({
    peek,
    getToken,
    reportUnauthorized,
    fetch: tokenFetch(getToken, reportUnauthorized)
  })
})
