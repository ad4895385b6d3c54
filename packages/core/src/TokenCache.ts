/**
 * The newest token per provider, in memory. Replicas and clients both keep
 * one; updates may arrive late or twice (broadcast, replies, KV reads), so an
 * offer only replaces what is held when it is strictly newer. Lookups are a
 * plain `Map` read because they sit on every consumer's hot path.
 */
import { isNewer, type Token } from "./Token.ts"

export class TokenCache {
  readonly #tokens = new Map<string, Token>()

  get(provider: string): Token | undefined {
    return this.#tokens.get(provider)
  }

  /** Keeps `token` if it is newer than what is held; returns whether it was kept. */
  offer(token: Token): boolean {
    if (!isNewer(token, this.#tokens.get(token.provider))) return false
    this.#tokens.set(token.provider, token)
    return true
  }

  get size(): number {
    return this.#tokens.size
  }
}
