/**
 * The configuration file the kit's replicas read: the container's NATS, the
 * kit's subject prefix, the tokens bucket sealed with a key read from a
 * file, tokens signed with a key read from a file (and, when the kit was
 * told to, sealed on the bus with another, `busKeyId`), and one
 * `oauth2-client-credentials` provider on the simulated project44, its
 * secret read from a file. The provider's policy
 * (rate limit, retries, circuit breaker) is left to the service's defaults,
 * project44's own, unless the kit was told otherwise.
 */

export interface RateLimitSettings {
  /** Upstream calls allowed within any `windowMillis`. */
  readonly tokens: number
  readonly windowMillis: number
  /** At most this many within any `windowMillis / tokens` (default: `tokens`). */
  readonly burst?: number
}

export interface RetrySettings {
  /** Attempts per mint, the first included; every attempt counts against the rate limit. */
  readonly attempts: number
  readonly baseMillis: number
  readonly capMillis: number
}

export interface ProviderPolicy {
  readonly rateLimit?: RateLimitSettings
  readonly retry?: RetrySettings
  readonly circuitBreaker?: { readonly freshTokenMillis: number }
}

export interface ServiceConfigSettings {
  readonly natsUrl: string
  readonly prefix: string
  readonly provider: string
  readonly tokenUrl: string
  readonly clientId: string
  readonly secretFile: string
  readonly storageKeyFile: string
  readonly signingKeyFile: string
  /** Absent: tokens go on the bus in clear. */
  readonly busKeyFile?: string | undefined
  readonly policy: ProviderPolicy
}

/** The id of the kit's bus key, in the replicas' `bus` section and the kit's `busKeys`. */
export const busKeyId = "testkit-bus"

const busSection = (file: string) => ({ keys: [{ id: busKeyId, key: { file } }] })

export const serviceConfig = (settings: ServiceConfigSettings): Record<string, unknown> => ({
  nats: { servers: [settings.natsUrl], name: `tokenbus-testkit-${settings.prefix}` },
  prefix: settings.prefix,
  storage: { keys: [{ id: "testkit", key: { file: settings.storageKeyFile } }], writeKey: "testkit" },
  signing: { privateKey: { file: settings.signingKeyFile } },
  ...(settings.busKeyFile === undefined ? {} : { bus: busSection(settings.busKeyFile) }),
  providers: [{
    id: settings.provider,
    kind: "oauth2-client-credentials",
    tokenUrl: settings.tokenUrl,
    clientId: settings.clientId,
    clientSecret: { file: settings.secretFile },
    clientAuth: "basic",
    ...settings.policy
  }]
})
