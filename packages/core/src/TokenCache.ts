/**
 * The newest token per provider, in memory. Replicas and clients both keep
 * one; updates may arrive late or twice (broadcast, replies, KV reads), so an
 * offer only replaces what is held when it is strictly newer. Lookups are a
 * plain `Map` read because they sit on every consumer's hot path.
 *
 * Anyone who can publish on an updates subject can offer a token, so what
 * comes over the bus is checked before it may replace anything: it must be
 * in a protocol version this cache speaks and the subject's provider, its
 * version must be plausible at this cache's clock (`isPlausibleVersion`: no
 * token is ever adopted that would stay newest for good), and, when the cache
 * was given the cluster's public keys, signed by the cluster. A token sealed
 * for the holders of the bus key (WireToken.ts) is opened with the cache's
 * bus keys first; one it cannot open is dropped. Tokens from the replica's
 * own sources (its mints, KV) skip the signature but never the clock.
 */
import { Option, Result, Schema } from "effect"
import { supportedVersions, TokenUpdateJson } from "./Messages.ts"
import type { SealingKey } from "./Sealing.ts"
import { isNewer, isPlausibleVersion, type Token } from "./Token.ts"
import { type VerifyKey, verifyToken } from "./TokenSignature.ts"
import { openToken, type WireToken } from "./WireToken.ts"

const decodeUpdate = Schema.decodeUnknownOption(TokenUpdateJson)

/** Why an offered token was dropped. */
export type TokenRefusal =
  | "unreadable"
  | "unsupported-version"
  | "wrong-provider"
  | "implausible-version"
  | "sealed-unknown-key"
  | "sealed-rejected"
  | "unsigned"
  | "bad-signature"

/** What became of an offer: kept, not newer than what is held (`stale`), or dropped. */
export type Offered = "kept" | "stale" | TokenRefusal

/** Why a message's token was dropped, in words for a log line or an error. */
export const refusalMessages: Readonly<Record<TokenRefusal, string>> = {
  unreadable: "it is not a token update",
  "unsupported-version": "it is in a protocol version this reader does not speak",
  "wrong-provider": "its token is another provider's",
  "implausible-version": "its token's version is far ahead of this clock",
  "sealed-unknown-key": "its token is sealed with a bus key this reader was not given",
  "sealed-rejected": "its sealed token does not open with the bus key it names",
  unsigned: "its token is not signed",
  "bad-signature": "its token's signature does not verify with the cluster's key"
}

export interface TokenCacheOptions {
  /** The cluster's public keys: with any, tokens from the bus are kept only when one of them verifies the signature. */
  readonly verifyKeys?: ReadonlyArray<VerifyKey>
  /** The bus keys sealed tokens are opened with; without the one a token names, it is dropped. */
  readonly busKeys?: ReadonlyArray<SealingKey>
  /** The wall clock (epoch milliseconds) versions are judged against; default `Date.now`. */
  readonly now?: () => number
}

export class TokenCache {
  readonly #tokens = new Map<string, Token>()
  readonly #verifyKeys: ReadonlyArray<VerifyKey>
  readonly #busKeys: ReadonlyArray<SealingKey>
  readonly #now: () => number

  constructor(options: TokenCacheOptions = {}) {
    this.#verifyKeys = options.verifyKeys ?? []
    this.#busKeys = options.busKeys ?? []
    this.#now = options.now ?? Date.now
  }

  /** Whether tokens from the bus must carry a signature the cluster's key verifies. */
  get verifies(): boolean {
    return this.#verifyKeys.length > 0
  }

  get(provider: string): Token | undefined {
    return this.#tokens.get(provider)
  }

  /** Whether a token of `version` may be adopted now: not far ahead of this cache's clock. */
  isPlausible(version: number): boolean {
    return isPlausibleVersion(version, this.#now())
  }

  /** Keeps `token` if it is newer than what is held and plausible now; returns whether it was kept. */
  offer(token: Token): boolean {
    if (!this.isPlausible(token.version)) return false
    if (!isNewer(token, this.#tokens.get(token.provider))) return false
    this.#tokens.set(token.provider, token)
    return true
  }

  /**
   * Offers a token that came over the bus for `provider` (an update, or a
   * reply to a request for it) with its `signature`. A token not newer than
   * the one held is `stale` before it is opened or its signature checked: it
   * could replace nothing.
   */
  offerSigned(provider: string, token: WireToken, signature: string | undefined): Offered {
    if (token.provider !== provider) return "wrong-provider"
    if (!this.isPlausible(token.version)) return "implausible-version"
    const held = this.#tokens.get(provider)
    if (held !== undefined && token.version <= held.version) return "stale"
    const opened = openToken(this.#busKeys, token)
    if (Result.isFailure(opened)) {
      return opened.failure.reason === "unknown-key" ? "sealed-unknown-key" : "sealed-rejected"
    }
    if (this.verifies) {
      if (signature === undefined) return "unsigned"
      if (!verifyToken(this.#verifyKeys, opened.success, signature)) return "bad-signature"
    }
    this.#tokens.set(provider, opened.success)
    return "kept"
  }

  /** Offers the token of an update received on `provider`'s updates subject (its JSON). */
  offerUpdate(provider: string, json: string): Offered {
    return Option.match(decodeUpdate(json), {
      onNone: (): Offered => "unreadable",
      onSome: ({ signature, token, v }) =>
        supportedVersions.includes(v) ? this.offerSigned(provider, token, signature) : "unsupported-version"
    })
  }

  get size(): number {
    return this.#tokens.size
  }
}
