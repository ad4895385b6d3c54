/**
 * What the Promise integrations (undici, axios) need of a client: the
 * current token and the report of a 401. `TokenbusClient` is one; so is
 * anything else with these methods, which keeps the integrations free of the
 * client's runtime.
 */
import type { Token } from "@tokenbus/core"

export interface TokenSource {
  /** The provider's current token. */
  getToken(provider: string): Promise<Token>
  /** Says `token` got a 401; resolves to the token to use instead (the same one when no newer one can be had yet). */
  reportUnauthorized(token: Token): Promise<Token>
  /** The token held in memory, if any: lets undici dispatch at once, without waiting for a promise. */
  peek?(provider: string): Token | undefined
}
