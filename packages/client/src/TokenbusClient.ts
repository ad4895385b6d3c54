/**
 * The Promise facade of `TokenClient`, for code that does not use Effect.
 * It owns a runtime holding the client and its NATS connection; `close`
 * drains the connection.
 */
import type { Token } from "@tokenbus/core"
import type { NatsConnectionOptions } from "@tokenbus/nats"
import { ManagedRuntime, Redacted } from "effect"
import { TokenClient, type TokenClientOptions } from "./TokenClient.ts"

export interface TokenbusClientOptions extends TokenClientOptions {
  readonly servers: ReadonlyArray<string>
  readonly name?: NatsConnectionOptions["name"]
}

export class TokenbusClient {
  readonly #runtime: ManagedRuntime.ManagedRuntime<TokenClient, unknown>
  readonly #client: TokenClient["Service"]

  private constructor(runtime: ManagedRuntime.ManagedRuntime<TokenClient, unknown>, client: TokenClient["Service"]) {
    this.#runtime = runtime
    this.#client = client
  }

  static async connect(options: TokenbusClientOptions): Promise<TokenbusClient> {
    const runtime = ManagedRuntime.make(TokenClient.layerConnect(options))
    const client = await runtime.runPromise(TokenClient)
    return new TokenbusClient(runtime, client)
  }

  /** The token held for `provider`, without waiting; undefined until one has arrived. */
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

  fetch(provider: string, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return this.#runtime.runPromise(this.#client.fetch(provider, input, init))
  }

  close(): Promise<void> {
    return this.#runtime.dispose()
  }
}

