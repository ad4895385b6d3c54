/**
 * The numbers a chaos run is built from, in one place: the two modes (CI: a
 * fixed seed and a random one, each a short run, then the scale run of
 * ScaleRun.ts, together inside 7 minutes;
 * soak: one long run of `CHAOS_MINUTES`), the deployment's timings, the
 * providers' rate limits and the bounds the checker holds the run to, each
 * with the reasoning behind it. A bound is what the product promises under
 * the faults the nemesis injects; it is never widened to make a run pass.
 */

/** The seed of the CI mode's fixed run. */
export const FIXED_SEED = 20_261_201

export const P44 = "project44"
export const CRM = "crm"
export const PROVIDERS = [P44, CRM] as const

/** The integration tests' lease: a dead member's key lapses after 3 s (+ ≤ 1 s); the scale run's is the default. */
export const LEASE = { ttlMillis: 3000, renewEveryMillis: 750, safetyMarginMillis: 500 } as const

/** How long a replica waits for a leader; the clients wait 2 s more per attempt (PROTOCOL.md). */
export const REPLICA_REQUEST_TIMEOUT_MILLIS = 4000
export const CLIENT_REQUEST_TIMEOUT_MILLIS = REPLICA_REQUEST_TIMEOUT_MILLIS + 2000

/**
 * How long each upstream takes to answer a token request: a real one takes
 * hundreds of milliseconds, and this is the window in which the nemesis's
 * mid-mint faults (a leader or the KV stream's node failing while a call is
 * in flight) land.
 */
export const UPSTREAM_LATENCY_MILLIS = 400

/** project44's limit, as the provider's default `rateLimit` has it: 5 tokens a minute. */
export const P44_RATE_LIMIT = { tokens: 5, windowMillis: 60_000, burst: 5 } as const

/**
 * The refresh-token upstream's access tokens live 40 s here (and say so in
 * `expires_in`), so the proactive lifecycle renews every 16-24 s and a
 * renewal that fails to come shows as an expired token; the provider's
 * budget leaves room for those renewals and the nemesis's revocations.
 */
export const CRM_ACCESS_TOKEN_SECONDS = 40
export const CRM_RATE_LIMIT = { tokens: 12, windowMillis: 60_000, burst: 4 } as const

/**
 * Revocation at t: every consumer holds a newer token by t + this. The worst
 * path the nemesis allows is a revocation during a fault of the other lane:
 * the leader SIGKILLed or paused past its lease (its lock lapses 3 s after
 * its last renewal, plus up to 1 s of KV expiry lag, then an election in
 * under 1 s), a NATS node lost under the KV stream's leader (a new stream
 * leader within about 5 s), a consumer reconnecting to another node (2 s
 * reconnect wait) and a replica answering `TokenUnavailable` after its 4 s
 * request timeout, so that the consumer's next call reports again: 15 s.
 * Mint-causing faults of one provider are spaced (see Schedule.ts) so the
 * upstream's rate budget never has to delay the new token.
 */
export const REVOCATION_RECOVERY_BOUND_MILLIS = 15_000

/** After the last fault is healed, every consumer holds the newest committed token by then (the same worst path). */
export const CONVERGENCE_BOUND_MILLIS = 15_000

/**
 * How the nemesis paces the mints it causes (revocations, 401 storms, a lost
 * tokens bucket, a mint interrupted by a fault, which may cost a second
 * call): per provider, faults at least `spacingMillis` apart (well past the
 * circuit breaker's 5 s for a fresh token reported 401) and at most `mints`
 * mints caused within `windowMillis`, one fewer than project44's 5 a minute,
 * so that the rate budget never has to delay a recovery.
 */
export const MINT_PACING = { spacingMillis: 15_000, mints: 4, windowMillis: 60_000 } as const

/**
 * The upstream lane plans each provider's revocations and storms this far
 * apart, leaving room in the pacing for the system lane's mid-mint faults
 * (which cost two mints) instead of starving them.
 */
export const UPSTREAM_FAULT_SPACING_MILLIS = 25_000

export interface RunSettings {
  readonly seed: number
  /** Why this seed: "fixed", "random", "replay" or "soak". */
  readonly label: string
  /** How long the nemesis injects faults. */
  readonly faultMillis: number
  /** How long the fleet keeps running after the last fault is healed, for the recovery checks. */
  readonly settleMillis: number
  readonly consumers: number
  readonly replicas: number
  /** How long a consumer waits between two rounds of calls. */
  readonly cadenceMillis: number
}

const baseRun = { settleMillis: 20_000, consumers: 8, replicas: 3, cadenceMillis: 150 } as const

/** One of the CI mode's two runs: about 2 minutes each with setup. */
export const ciRun = (seed: number, label: string): RunSettings => ({ ...baseRun, seed, label, faultMillis: 85_000 })

export const soakRun = (seed: number, minutes: number): RunSettings => ({
  ...baseRun,
  seed,
  label: "soak",
  faultMillis: Math.max(1, minutes) * 60_000,
  cadenceMillis: 250
})

/** `CHAOS_MINUTES` (soak mode) and `CHAOS_SEED` (a seed to replay) from the environment. */
export const chaosEnvironment = (env: NodeJS.ProcessEnv = process.env) => {
  const number = (name: string): number | undefined => {
    const text = env[name]
    if (text === undefined || text.trim() === "") return undefined
    const value = Number(text)
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${text}"`)
    return value
  }
  const seed = number("CHAOS_SEED")
  return { minutes: number("CHAOS_MINUTES"), seed: seed === undefined ? undefined : Math.floor(seed) >>> 0 }
}
