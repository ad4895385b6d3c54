/**
 * A provider as the service runs it: its kind's minter built from its
 * secrets as last read, its lifecycle, its watch, and a fingerprint of its
 * configuration with those secrets, so the circuit breaker can tell when an
 * operator fixed one. It can resolve itself again (secrets rotate). Its
 * secrets are `Redacted`, so printing a provider shows none.
 *
 * Every replica holds every provider, and only its leader mints, seldom: the
 * kind's minter is built for each mint, not kept, since a built one (its
 * request and span) costs about 1.7 KiB and a replica holds 10,000 providers.
 */
import type { Lifecycle } from "@tokenbus/core"
import { Effect, type Redacted, Stream } from "effect"
import { kindNamed } from "../kinds/ProviderKinds.ts"
import type { LostAnswer, Minter } from "../kinds/ProviderKind.ts"
import { ConfigError } from "./ConfigError.ts"
import { fingerprint } from "./fingerprint.ts"
import type { MintPolicy } from "./MintPolicy.ts"

export interface ConfiguredProvider extends Omit<MintPolicy, "lifecycle"> {
  readonly id: string
  readonly kind: string
  /** Its entry in the config file with the secrets read (`Redacted`); only its kind knows the shape. */
  readonly resolved: unknown
  /** The provider's own lifecycle, or its kind's default. */
  readonly lifecycle: Lifecycle
  readonly minter: Minter
  /** See `ProviderKind.lostAnswer`. */
  readonly lostAnswer: LostAnswer | undefined
  /** Its mints return a carry, which KV keeps only sealed (see `ProviderKind.carries`). */
  readonly carries: boolean
  /** Emits when the token changed outside tokenbus; `held` is the token the leader holds. */
  readonly watch: (held: Redacted.Redacted<string> | undefined) => Stream.Stream<void>
  /** False when its kind has no watch: its leader then runs none (one fiber less per provider). */
  readonly watches?: boolean
  /** A hash of the configuration with its secrets' current values; the secrets themselves are never kept. */
  readonly fingerprint: string
  /** Reads the secrets again. */
  readonly reload: () => Effect.Effect<ConfiguredProvider, ConfigError>
}

/** The fields of a provider entry the service reads whatever its kind. */
export type ProviderEntry = MintPolicy & { readonly id: string; readonly kind: string }

/** Reads the provider's secrets; `index` names it in errors (`providers[index]`). */
export const resolveProvider = (source: ProviderEntry, index: number): Effect.Effect<ConfiguredProvider, ConfigError> =>
  Effect.gen(function*() {
    const kind = kindNamed(source.kind)
    if (kind === undefined) {
      return yield* new ConfigError({ message: `providers[${index}]: unknown provider kind ${source.kind}` })
    }
    const resolved = yield* kind.resolve(source, `providers[${index}]`)
    const { circuitBreaker, id, lifecycle, rateLimit, retry } = source
    return {
      id,
      kind: source.kind,
      resolved,
      rateLimit,
      retry,
      circuitBreaker,
      lifecycle: lifecycle ?? kind.lifecycle(resolved),
      minter: { mint: (input) => kind.minter(resolved).mint(input) },
      lostAnswer: kind.lostAnswer,
      carries: kind.carries?.(resolved) ?? false,
      watch: (held) => kind.watch?.(resolved, held) ?? Stream.never,
      watches: kind.watch !== undefined,
      fingerprint: fingerprint(resolved),
      reload: () => resolveProvider(source, index)
    } satisfies ConfiguredProvider
  })

