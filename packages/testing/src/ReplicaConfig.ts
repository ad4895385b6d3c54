/**
 * The configuration file a replica process is started with, brokering the
 * simulated upstream's one provider. The subject prefix is random per
 * cluster, so clusters sharing one NATS server never see each other's
 * subjects or KV buckets, and the secret is passed through the environment
 * (`$P44_SECRET`), as an operator would. Its replicas sign their tokens
 * with the key in `$TOKENBUS_SIGNING_KEY` (SigningKeys.ts). Each serves
 * HTTP (probes, metrics) on a free port of 127.0.0.1, which it logs ("http
 * listening", `port`: `httpPortOf` in ReplicaProcess.ts).
 */
import { randomBytes } from "node:crypto"
import { SIGNING_KEY_ENV } from "./SigningKeys.ts"
import { testStorage } from "./StorageKey.ts"
import type { Upstream } from "./Upstream.ts"

export const PROVIDER = "project44"
export const SECRET_ENV = "P44_SECRET"

export interface LeaseSettings {
  readonly ttlMillis: number
  readonly renewEveryMillis: number
  readonly safetyMarginMillis: number
}

export interface ReplicaConfigOptions {
  readonly natsUrl: string
  readonly prefix: string
  readonly upstream: Upstream
  /** Absent: the service's default lease. */
  readonly lease?: LeaseSettings
  readonly requestTimeoutMillis?: number
  /** No `signing` section: replicas that send their tokens unsigned. */
  readonly unsigned?: boolean
  /** More fields of the provider's entry (its `rateLimit`, `circuitBreaker`...). */
  readonly provider?: Readonly<Record<string, unknown>>
  /** The `storage` section; default: the test key (StorageKey.ts). */
  readonly storage?: Readonly<Record<string, unknown>>
  /** The `bus` section (BusKeys.ts `testBus`); absent: tokens go on the bus in clear. */
  readonly bus?: Readonly<Record<string, unknown>>
  /** More fields of the `nats` section (its `auth`, `tls`...). */
  readonly nats?: Readonly<Record<string, unknown>>
  /** The `http` section; default: a free port on 127.0.0.1; false: no HTTP server. */
  readonly http?: Readonly<Record<string, unknown>> | false
}

export const testHttp = { port: 0, host: "127.0.0.1" } as const

/** `t` + 8 hex chars: valid as a subject prefix and in KV bucket names, unique per cluster. */
export const randomPrefix = (): string => `t${randomBytes(4).toString("hex")}`

/** The replica config file's content; the secret is referenced through `$P44_SECRET`. */
export const replicaConfig = (options: ReplicaConfigOptions): Record<string, unknown> => ({
  nats: { servers: [options.natsUrl], ...options.nats },
  prefix: options.prefix,
  ...(options.lease === undefined ? {} : { lease: options.lease }),
  requestTimeoutMillis: options.requestTimeoutMillis ?? 5000,
  ...(options.unsigned === true ? {} : { signing: { privateKey: { env: SIGNING_KEY_ENV } } }),
  storage: options.storage ?? testStorage,
  ...(options.bus === undefined ? {} : { bus: options.bus }),
  ...(options.http === false ? {} : { http: options.http ?? testHttp }),
  providers: [{
    id: PROVIDER,
    kind: "oauth2-client-credentials",
    tokenUrl: options.upstream.sim.tokenUrl,
    clientId: options.upstream.clientId,
    clientSecret: { env: SECRET_ENV },
    clientAuth: "basic",
    ...options.provider
  }]
})
