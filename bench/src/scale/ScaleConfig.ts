/**
 * The configuration of the scale scenario's replicas: `count` providers of
 * the oauth2 client-credentials kind, all against one simulated project44
 * with the same credentials, each with a rate limit no mint of the scenario
 * comes near, so what is measured is tokenbus and not the upstream's limits.
 */
import { randomPrefix, replicaConfig, type Upstream } from "@tokenbus/testing"

/** `p00001`, `p00002`...: sorted as numbered, and valid in subjects and KV keys. */
export const providerId = (index: number): string => `p${String(index + 1).padStart(5, "0")}`

export const providerIds = (count: number): Array<string> => Array.from({ length: count }, (_, index) => providerId(index))

export interface ScaleConfigOptions {
  readonly natsUrl: string
  readonly upstream: Upstream
  readonly providers: number
}

export const scaleConfig = (options: ScaleConfigOptions): Record<string, unknown> => {
  const base = replicaConfig({ natsUrl: options.natsUrl, prefix: randomPrefix(), upstream: options.upstream })
  const [template] = base["providers"] as ReadonlyArray<Record<string, unknown>>
  const providers = providerIds(options.providers).map((id) => ({
    ...template,
    id,
    rateLimit: { tokens: 1_000_000, windowMillis: 60_000, burst: 10_000 }
  }))
  return { ...base, providers }
}
