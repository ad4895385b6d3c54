/**
 * The client microservices use. It keeps the newest token of each provider in
 * memory, kept current by the service's broadcast (and fetched again after a
 * reconnect, since broadcasts sent meanwhile are lost), so `getToken` answers
 * without a network round trip once it holds a token that has not expired. A
 * 401 from the upstream is reported with `reportUnauthorized`, which returns
 * the token to use next; `fetch` does all of that around one HTTP call,
 * retrying once (`http/tokenFetch.ts`).
 */
import {
  defaultPrefix,
  makeSubjects,
  type ProtocolError,
  protocolVersion,
  providerOf,
  type Token,
  TokenCache
} from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { Clock, Context, Effect, Layer } from "effect"
import type { FetchFailed } from "./http/FetchFailed.ts"
import { tokenFetch, type TokenFetchInit } from "./http/tokenFetch.ts"
import { makeAskService } from "./internal/AskService.ts"
import { catchUpOnReconnect } from "./internal/CatchUp.ts"
import { makeCurrentToken } from "./internal/CurrentToken.ts"
import { ServiceUnavailable } from "./ServiceUnavailable.ts"
import {
  defaultRequestTimeoutMillis,
  natsOptionsOf,
  type TokenClientConnectOptions,
  type TokenClientOptions
} from "./TokenClientOptions.ts"

export type TokenClientError = ProtocolError | ServiceUnavailable

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

const make = Effect.fnUntraced(function*(options: TokenClientOptions) {
  const nats = yield* NatsConnection
  const clock = yield* Clock.Clock
  const subjects = makeSubjects(options.prefix ?? defaultPrefix)
  const cache = new TokenCache()
  /** The providers `cache` holds a token of: what a reconnect fetches again. */
  const held = new Set<string>()
  const ask = makeAskService({
    nats,
    cache,
    timeoutMillis: options.requestTimeoutMillis ?? defaultRequestTimeoutMillis,
    kept: (provider) => void held.add(provider)
  })

  yield* nats.subscribe(subjects.anyUpdates, {}, (message) => {
    if (cache.offerUpdate(message.string())) held.add(providerOf(message.subject))
  })

  const askGet = (provider: string) => ask(provider, subjects.get(provider), getPayload)
  const { getToken, peek } = makeCurrentToken({ cache, clock, askGet })

  const reportUnauthorized = Effect.fn("TokenClient.reportUnauthorized")(function*(token: Token) {
    const newer = peek(token.provider)
    if (newer !== undefined && newer.version > token.version) return newer
    const report = JSON.stringify({ v: protocolVersion, version: token.version })
    return yield* ask(token.provider, subjects.unauthorized(token.provider), report)
  })

  yield* catchUpOnReconnect(nats.reconnects, () => held, askGet)

  return TokenClient.of({
    peek,
    getToken,
    reportUnauthorized,
    fetch: tokenFetch(getToken, reportUnauthorized)
  })
})
