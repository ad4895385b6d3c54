/**
 * The two simulated upstreams a chaos run brokers, each behind a recording
 * proxy: project44 (client credentials, its rate limit, revocation) and a
 * standard OAuth2 refresh-token grant with rotation and reuse detection. It
 * gives the replicas their provider entries and secrets, the consumers the
 * protected resources, the nemesis revocation, and the checker the counters
 * and every secret the replicas' logs must not contain.
 */
import { randomBytes } from "node:crypto"
import {
  type OAuth2RefreshCounters,
  type OAuth2RefreshSim,
  type Project44Counters,
  type Project44Sim,
  startOAuth2RefreshSim,
  startProject44Sim
} from "@tokenbus/sim"
import { CRM, CRM_ACCESS_TOKEN_SECONDS, CRM_RATE_LIMIT, P44, UPSTREAM_LATENCY_MILLIS } from "./ChaosSettings.ts"
import type { History } from "./History.ts"
import { type RecordingProxy, startRecordingProxy } from "./RecordingProxy.ts"

export interface UpstreamCounters {
  readonly [P44]: Project44Counters
  readonly [CRM]: OAuth2RefreshCounters
}

export interface ChaosUpstreams {
  /** The replicas' provider entries, secrets referenced through `env`. */
  readonly providers: ReadonlyArray<Record<string, unknown>>
  readonly env: Readonly<Record<string, string>>
  /** The protected resource consumers call with `provider`'s token. */
  resourceUrl(provider: string): string
  /** Resolves true when `provider`'s token endpoint next receives a call, false after `timeoutMillis`. */
  nextCall(provider: string, timeoutMillis: number): Promise<boolean>
  /** Makes the upstream refuse `accessToken` from now on. */
  revoke(provider: string, accessToken: string): void
  counters(): UpstreamCounters
  /** Every secret the replicas hold or were issued, named, for the leak scan. */
  secrets(): Array<readonly [string, string]>
  close(): Promise<void>
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex")
const pathOf = (url: string) => new URL(url).pathname

/** Who waits for each provider's next call. */
const arrivals = () => {
  const waiting = new Map<string, Set<() => void>>()
  return {
    arrived: (provider: string) => () => {
      for (const resolve of waiting.get(provider) ?? []) resolve()
      waiting.delete(provider)
    },
    next: (provider: string, timeoutMillis: number) =>
      new Promise<boolean>((resolve) => {
        const done = (arrived: boolean) => () => {
          clearTimeout(timer)
          waiting.get(provider)?.delete(onCall)
          resolve(arrived)
        }
        const onCall = done(true)
        const timer = setTimeout(done(false), timeoutMillis)
        waiting.set(provider, new Set([...(waiting.get(provider) ?? []), onCall]))
      })
  }
}

export const startUpstreams = async (history: History): Promise<ChaosUpstreams> => {
  const p44Client = { clientId: `p44-${hex(4)}`, clientSecret: `secret-${hex(16)}` }
  const crmClient = { clientId: `crm-${hex(4)}`, clientSecret: `secret-${hex(16)}` }
  const calls = arrivals()
  const p44: Project44Sim = await startProject44Sim({ ...p44Client, port: 0, latencyMs: UPSTREAM_LATENCY_MILLIS })
  const crm: OAuth2RefreshSim = await startOAuth2RefreshSim({
    ...crmClient,
    port: 0,
    accessTokenLifetimeSeconds: CRM_ACCESS_TOKEN_SECONDS,
    latencyMs: UPSTREAM_LATENCY_MILLIS
  })
  const proxies: Array<RecordingProxy> = [
    await startRecordingProxy({ target: p44.baseUrl, provider: P44, history, onArrival: calls.arrived(P44) }),
    await startRecordingProxy({ target: crm.baseUrl, provider: CRM, history, onArrival: calls.arrived(CRM) })
  ]
  const [p44Proxy, crmProxy] = proxies as [RecordingProxy, RecordingProxy]
  const firstRefreshToken = crm.issueRefreshToken()
  const env = {
    CHAOS_P44_SECRET: p44Client.clientSecret,
    CHAOS_CRM_SECRET: crmClient.clientSecret,
    CHAOS_CRM_REFRESH_TOKEN: firstRefreshToken
  }
  const providers = [
    {
      id: P44,
      kind: "oauth2-client-credentials",
      tokenUrl: p44Proxy.baseUrl + pathOf(p44.tokenUrl),
      clientId: p44Client.clientId,
      clientSecret: { env: "CHAOS_P44_SECRET" },
      clientAuth: "basic"
    },
    {
      id: CRM,
      kind: "oauth2-refresh-token",
      tokenUrl: crmProxy.baseUrl + pathOf(crm.tokenUrl),
      clientId: crmClient.clientId,
      clientSecret: { env: "CHAOS_CRM_SECRET" },
      clientAuth: "basic",
      refreshToken: { env: "CHAOS_CRM_REFRESH_TOKEN" },
      rateLimit: CRM_RATE_LIMIT
    }
  ]
  return {
    providers,
    env,
    nextCall: calls.next,
    resourceUrl: (provider) => (provider === P44 ? p44.resourceUrl : crm.resourceUrl),
    revoke: (provider, accessToken) => (provider === P44 ? p44.revoke(accessToken) : crm.revoke(accessToken)),
    counters: () => ({ [P44]: p44.counters(), [CRM]: crm.counters() }),
    secrets: () => [
      ["the project44 client secret", p44Client.clientSecret] as const,
      ["the crm client secret", crmClient.clientSecret] as const,
      ...p44.issuedTokens().map((token, index) => [`project44 token #${index + 1}`, token] as const),
      ...crm.issuedAccessTokens().map((token, index) => [`crm access token #${index + 1}`, token] as const),
      ...crm.issuedRefreshTokens().map((token, index) => [`crm refresh token #${index + 1}`, token] as const)
    ],
    close: async () => {
      await Promise.all(proxies.map((proxy) => proxy.close()))
      await Promise.all([p44.close(), crm.close()])
    }
  }
}
