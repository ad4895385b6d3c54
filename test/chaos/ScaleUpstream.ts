/**
 * The scale run's upstream: one simulated project44 serving many providers
 * (each a provider entry of its own, all with the same client), behind one
 * recording proxy that tells their calls apart by a path prefix
 * (`/<provider>/api/v4/oauth2/token`), so each provider's rate budget is
 * checked on the calls the upstream saw. The simulator's own limit is far
 * above what 5 tokens a minute per provider can reach: the budget that
 * matters is each provider's.
 */
import { randomBytes } from "node:crypto"
import { startProject44Sim } from "@tokenbus/sim"
import { P44_RATE_LIMIT } from "./ChaosSettings.ts"
import type { History } from "./History.ts"
import { startRecordingProxy } from "./RecordingProxy.ts"

export interface ScaleUpstream {
  readonly ids: ReadonlyArray<string>
  readonly providers: ReadonlyArray<Record<string, unknown>>
  readonly env: Readonly<Record<string, string>>
  /** The simulator's 429s: any is a violation. */
  readonly rateLimited: () => number
  /** Every secret the replicas hold or were issued, named, for the leak scan. */
  readonly secrets: () => Array<readonly [string, string]>
  readonly close: () => Promise<void>
}

const SECRET_ENV = "CHAOS_SCALE_SECRET"

export const providerIds = (count: number): Array<string> =>
  Array.from({ length: count }, (_, index) => `carrier-${String(index + 1).padStart(3, "0")}`)

export const startScaleUpstream = async (history: History, count: number): Promise<ScaleUpstream> => {
  const clientId = `scale-${randomBytes(4).toString("hex")}`
  const clientSecret = `secret-${randomBytes(16).toString("hex")}`
  const sim = await startProject44Sim({ clientId, clientSecret, port: 0, tokensPerMinute: 60_000, burst: 1000 })
  const proxy = await startRecordingProxy({ target: sim.baseUrl, provider: "", providerFromPath: true, history })
  const ids = providerIds(count)
  const tokenPath = new URL(sim.tokenUrl).pathname
  const providers = ids.map((id) => ({
    id,
    kind: "oauth2-client-credentials",
    tokenUrl: `${proxy.baseUrl}/${id}${tokenPath}`,
    clientId,
    clientSecret: { env: SECRET_ENV },
    clientAuth: "basic",
    rateLimit: P44_RATE_LIMIT
  }))
  return {
    ids,
    providers,
    env: { [SECRET_ENV]: clientSecret },
    rateLimited: () => sim.counters().rateLimited,
    secrets: () => [
      ["the client secret", clientSecret] as const,
      ...sim.issuedTokens().map((token, index) => [`token #${index + 1}`, token] as const)
    ],
    close: async () => {
      await proxy.close()
      await sim.close()
    }
  }
}
