/**
 * The newest token per provider, in memory. Replicas and clients both keep
 * one; updates may arrive late or twice (broadcast, replies, KV reads), so an
 * offer only replaces what is held when it is strictly newer. Lookups are a
 * plain `Map` read because they sit on every consumer's hot path.
 */
import { Option, Schema } from "effect"
import { TokenUpdateJson } from "./Messages.ts"
import { isNewer, type Token } from "./Token.ts"

const decodeUpdate = Schema.decodeUnknownOption(TokenUpdateJson)

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

  /** Offers the token of a broadcast update (its JSON); an unreadable update is ignored. */
  offerUpdate(json: string): boolean {
    return Option.match(decodeUpdate(json), { onNone: () => false, onSome: ({ token }) => this.offer(token) })
  }

  get size(): number {
    return this.#tokens.size
  }
}
