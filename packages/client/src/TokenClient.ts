/**
 * The client microservices use. It keeps the newest token of each provider in
 * memory, kept current by the service's broadcast, so `getToken` answers
 * without a network round trip once it holds a token. A 401 from the upstream
 * is reported with `reportUnauthorized`, which returns the token to use next;
 * `fetch` does all of that around one HTTP call, retrying once.
 */
import {
  defaultPrefix,
  makeSubjects,
  type ProtocolError,
  protocolVersion,
  type Token,
  TokenCache,
  TokenReplyJson,
} from "@tokenbus/core"
import { type NatsConnectError, NatsConnection, type NatsConnectionOptions } from "@tokenbus/nats"
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { ServiceUnavailable } from "./ServiceUnavailable.ts"

export interface TokenClientOptions {
  /** The service's subject prefix (default `tokenbus`). */
  readonly prefix?: string
  /** How long to wait for the service to answer (default 5000 ms). */
  readonly requestTimeoutMillis?: number
}

export type TokenClientError = ProtocolError | ServiceUnavailable

export class FetchFailed extends Schema.TaggedError<FetchFailed>()("FetchFailed", {
  url: Schema.String,
  message: Schema.String
}) {}

export class TokenClient extends Context.Service<TokenClient, {
  /** The token held for `provider`, if any: a synchronous memory read. */
  readonly peek: (provider: string) => Token | undefined
  /** The current token: from memory when held, else from the service. */
  readonly getToken: (provider: string) => Effect.Effect<Token, TokenClientError>
  /** Says `token` got a 401 upstream; returns the token to use instead. */
  readonly reportUnauthorized: (token: Token) => Effect.Effect<Token, TokenClientError>
  /** `fetch` with `Authorization: Bearer <token>`; on a 401, reports it and retries once with the new token. */
  readonly fetch: (
    provider: string,
    input: string | URL | Request,
    init?: RequestInit
  ) => Effect.Effect<Response, TokenClientError | FetchFailed>
}>()("@tokenbus/client/TokenClient") {
  /** A client on a NATS connection the application already has. */
  static readonly layer = (options: TokenClientOptions = {}): Layer.Layer<TokenClient, never, NatsConnection> =>
    Layer.effect(TokenClient, make(options))

  /** A client with a connection of its own, drained when the layer is released. */
  static readonly layerConnect = (
    options: TokenClientOptions & Partial<NatsConnectionOptions> & Pick<NatsConnectionOptions, "servers">
  ): Layer.Layer<TokenClient, NatsConnectError> =>
    TokenClient.layer(options).pipe(
      Layer.provide(NatsConnection.layer({ servers: options.servers, name: options.name ?? "tokenbus-client" }))
    )
}

const decodeReply = Schema.decodeUnknownEffect(TokenReplyJson)
const getPayload = JSON.stringify({ v: protocolVersion })

const make = Effect.fnUntraced(function*(options: TokenClientOptions) {
  const nats = yield* NatsConnection
  const subjects = makeSubjects(options.prefix ?? defaultPrefix)
  const timeout = options.requestTimeoutMillis ?? 5_000
  const cache = new TokenCache()

  yield* nats.subscribe(subjects.anyUpdates, {}, (message) => void cache.offerUpdate(message.string()))

  /** Sends a request; keeps the token it returns and answers the newest held. */
  const ask = (provider: string, subject: string, payload: string) =>
    nats.request(subject, payload, timeout).pipe(
      Effect.mapError((error) =>
        new ServiceUnavailable({ provider, message: `tokenbus did not answer for ${provider}: ${error.message}` })
      ),
      Effect.flatMap((text) =>
        decodeReply(text).pipe(
          Effect.mapError(() => new ServiceUnavailable({ provider, message: "tokenbus sent a reply this client cannot read" }))
        )
      ),
      Effect.flatMap((reply): Effect.Effect<Token, TokenClientError> => {
        if (!reply.ok) return Effect.fail(reply.error)
        cache.offer(reply.token)
        return Effect.succeed(cache.get(provider) ?? reply.token)
      })
    )

  const getToken = (provider: string): Effect.Effect<Token, TokenClientError> => {
    const held = cache.get(provider)
    return held !== undefined ? Effect.succeed(held) : ask(provider, subjects.get(provider), getPayload)
  }

  const reportUnauthorized = Effect.fn("TokenClient.reportUnauthorized")(function*(token: Token) {
    const held = cache.get(token.provider)
    if (held !== undefined && held.version > token.version) return held
    const report = JSON.stringify({ v: protocolVersion, version: token.version })
    return yield* ask(token.provider, subjects.unauthorized(token.provider), report)
  })

  const send = (input: string | URL | Request, init: RequestInit | undefined, token: Token) =>
    Effect.tryPromise({
      try: (signal) => {
        const request = new Request(input instanceof Request ? input.clone() : input, init)
        request.headers.set("authorization", `Bearer ${Redacted.value(token.accessToken)}`)
        return fetch(request, { signal })
      },
      catch: (cause) => new FetchFailed({ url: urlOf(input), message: (cause as Error).message })
    })

  const fetchWithToken = Effect.fn("TokenClient.fetch")(function*(
    provider: string,
    input: string | URL | Request,
    init?: RequestInit
  ) {
    const token = yield* getToken(provider)
    const response = yield* send(input, init, token)
    if (response.status !== 401) return response
    const fresh = yield* reportUnauthorized(token)
    // No newer token (the upstream's rate budget makes the next one wait):
    // retrying with the same one would only earn another 401.
    if (fresh.version <= token.version) return response
    yield* Effect.promise(() => response.body?.cancel() ?? Promise.resolve())
    return yield* send(input, init, fresh)
  })

  return TokenClient.of({
    peek: (provider) => cache.get(provider),
    getToken,
    reportUnauthorized,
    fetch: fetchWithToken
  })
})

const urlOf = (input: string | URL | Request): string =>
  typeof input === "string" ? input : input instanceof URL ? input.href : input.url
