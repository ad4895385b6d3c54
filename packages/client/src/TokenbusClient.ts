/**
 * The Promise facade of `TokenClient`, for code that does not use Effect.
 * It owns a runtime holding the client and its NATS connection; `close`
 * drains the connection. Failures reject with the same tagged errors
 * (`ServiceUnavailable`, the protocol's errors, `FetchFailed`).
 */
import type { Token } from "@tokenbus/core"
import { ManagedRuntime, Redacted } from "effect"
import type { TokenFetchInit } from "./http/tokenFetch.ts"
import type { ServiceUnavailable } from "./ServiceUnavailable.ts"
import { TokenClient } from "./TokenClient.ts"
import type { TokenClientConnectOptions } from "./TokenClientOptions.ts"

/** `{ prefix?, requestTimeoutMillis?, nats: { servers, name?, waitOnFirstConnect? } }`. */
export type TokenbusClientOptions = TokenClientConnectOptions

export class TokenbusClient {
  readonly #runtime: ManagedRuntime.ManagedRuntime<TokenClient, ServiceUnavailable>
  readonly #client: TokenClient["Service"]

  private constructor(
    runtime: ManagedRuntime.ManagedRuntime<TokenClient, ServiceUnavailable>,
    client: TokenClient["Service"]
  ) {
    this.#runtime = runtime
    this.#client = client
  }

  /**
   * Connects and subscribes to the broadcast. With NATS unreachable it
   * rejects with `ServiceUnavailable` at once, or with
   * `nats.waitOnFirstConnect` waits until NATS answers.
   */
  static async connect(options: TokenbusClientOptions): Promise<TokenbusClient> {
    const runtime = ManagedRuntime.make(TokenClient.layerConnect(options))
    const client = await runtime.runPromise(TokenClient).catch(async (error: unknown) => {
      await runtime.dispose()
      throw error
    })
    return new TokenbusClient(runtime, client)
  }

  /** The token held for `provider`, without waiting; undefined until one has arrived, and once it has expired. */
  peek(provider: string): Token | undefined {
    return this.#client.peek(provider)
  }

  getToken(provider: string): Promise<Token> {
    return this.#runtime.runPromise(this.#client.getToken(provider))
  }

  /** The access token itself, for the `Authorization` header of a call you make. */
  async accessToken(provider: string): Promise<string> {
    return Redacted.value((await this.getToken(provider)).accessToken)
  }

  reportUnauthorized(token: Token): Promise<Token> {
    return this.#runtime.runPromise(this.#client.reportUnauthorized(token))
  }

  /**
   * `fetch` with the Bearer token. A 401 is reported and, for a request safe
   * to repeat (an idempotent method, an `Idempotency-Key`, or
   * `init.retryNonIdempotent`), retried once with a newer token; otherwise,
   * or when none can be had yet, the 401 is returned.
   */
  fetch(provider: string, input: string | URL | Request, init?: TokenFetchInit): Promise<Response> {
    return this.#runtime.runPromise(this.#client.fetch(provider, input, init))
  }

  close(): Promise<void> {
    return this.#runtime.dispose()
  }
}
