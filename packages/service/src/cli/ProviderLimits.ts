/**
 * The providers and rate limits `tokenbus status` and `tokenbus watch` count
 * budgets against. The tokens bucket holds what each leader spent, not the
 * limit it spends against, which is in the replicas' configuration: given
 * (`--config`, `TOKENBUS_CONFIG`), its providers' `id` and `rateLimit` are
 * read, and nothing else of them, so no secret need be at hand; without it
 * every provider counts against the default limit (5 a minute), and says so.
 */
import { readFile } from "node:fs/promises"
import { defaultRateLimit, RateLimit } from "@tokenbus/core"
import { Effect, Option, Schema } from "effect"
import { ConfigError } from "../config/ConfigError.ts"
import type { ProviderLimit } from "../status/ClusterStatus.ts"
import { configPath } from "./CliConnection.ts"

const ProvidersSection = Schema.Struct({
  providers: Schema.optionalKey(
    Schema.Array(Schema.Struct({ id: Schema.String, rateLimit: Schema.optionalKey(RateLimit) }))
  )
})
const decodeSection = Schema.decodeUnknownEffect(Schema.fromJsonString(ProvidersSection))

export interface ProviderLimits {
  /** The configuration's providers, in its order; empty without one. */
  readonly providers: ReadonlyArray<string>
  readonly limitOf: (provider: string) => ProviderLimit
}

const fallback: ProviderLimit = { limit: defaultRateLimit, from: "default" }

export const providerLimits = Effect.fnUntraced(function*(flag: Option.Option<string>) {
  const source = yield* configPath(flag)
  if (Option.isNone(source)) return { providers: [], limitOf: () => fallback } satisfies ProviderLimits
  const { path, setting } = source.value
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => new ConfigError({ message: `${setting} ${path} cannot be read (${(cause as Error).message})` })
  })
  const section = yield* decodeSection(text).pipe(
    Effect.mapError((error) => new ConfigError({ message: `invalid configuration in ${path}: ${error.message}` }))
  )
  const limits = new Map((section.providers ?? []).map((p) => [p.id, p.rateLimit ?? defaultRateLimit] as const))
  return {
    providers: [...limits.keys()],
    limitOf: (provider) => {
      const limit = limits.get(provider)
      return limit === undefined ? fallback : { limit, from: "config" }
    }
  } satisfies ProviderLimits
})
