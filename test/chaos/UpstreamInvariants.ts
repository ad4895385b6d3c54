/**
 * The invariants the upstreams see: the rate limit of each provider (no
 * span of its window holds more calls than it allows, none bunch tighter
 * than its burst, and no 429 is ever answered), and that no refresh token
 * is presented twice, checked on the calls themselves and on the refresh
 * simulator's own reuse detection.
 */
import { type CheckInput, groupBy, offset, type RateLimit, type Verdict } from "./CheckInput.ts"

/** The most calls within any span shorter than `windowMillis`, and where it starts. */
const densest = (times: ReadonlyArray<number>, windowMillis: number) => {
  let best = { count: 0, from: 0 }
  for (let first = 0, last = 0; last < times.length; last++) {
    while ((times[last] as number) - (times[first] as number) >= windowMillis) first++
    if (last - first + 1 > best.count) best = { count: last - first + 1, from: times[first] as number }
  }
  return best
}

export const rateLimit = (input: CheckInput, provider: string): Verdict => {
  const limit = input.limits[provider] as RateLimit
  const burstLimit = limit.burst ?? limit.tokens
  const calls = input.history.of("upstream").filter((call) => call.provider === provider)
  const times = calls.map((call) => call.at)
  const window = densest(times, limit.windowMillis)
  const burstWindow = limit.windowMillis / limit.tokens
  const burst = densest(times, burstWindow)
  const violations: Array<string> = []
  if (window.count > limit.tokens) {
    violations.push(`${window.count} calls within ${limit.windowMillis} ms from ${offset(input, window.from)}`)
  }
  if (burst.count > burstLimit) {
    violations.push(`${burst.count} calls within ${burstWindow} ms from ${offset(input, burst.from)}`)
  }
  const answered429 = calls.filter((call) => call.status === 429)
  for (const call of answered429) violations.push(`429 from the token endpoint at ${offset(input, call.at)}`)
  const simCount = input.rateLimitedBySim[provider] ?? 0
  if (simCount > answered429.length) violations.push(`the upstream counted ${simCount} rate-limited requests`)
  const consumer429 = input.history.of("op").filter((op) => op.provider === provider && op.status === 429)
  for (const op of consumer429) violations.push(`${op.consumer} got a 429 at ${offset(input, op.at)}`)
  return {
    invariant: `upstream rate limit: ${provider}`,
    observed: `${calls.length} calls; most in ${limit.windowMillis / 1000} s: ${window.count}, ` +
      `in ${burstWindow / 1000} s: ${burst.count}; ${answered429.length + consumer429.length} × 429`,
    bound: `≤ ${limit.tokens} per ${limit.windowMillis / 1000} s, ≤ ${burstLimit} per ${burstWindow / 1000} s, ` +
      "no 429",
    violations
  }
}

export const noRefreshReplay = (input: CheckInput): Verdict => {
  const presented = input.history.of("upstream").flatMap((call) => (call.refreshToken === undefined ? [] : [call]))
  const byToken = groupBy(presented, (call) => call.refreshToken as string)
  const violations = [...byToken.values()].filter((calls) => calls.length > 1).map((calls) =>
    `refresh token ${calls[0]?.refreshToken} presented ${calls.length} times: ` +
    calls.map((call) => offset(input, call.at)).join(", ")
  )
  const { invalidGrant, reuseDetected } = input.refreshReuse
  if (reuseDetected > 0) violations.push(`the upstream detected ${reuseDetected} reuses and revoked the grant`)
  if (invalidGrant > 0) violations.push(`the upstream refused ${invalidGrant} refresh tokens (invalid_grant)`)
  return {
    invariant: "no refresh token is replayed",
    observed: `${presented.length} refreshes, ${byToken.size} distinct refresh tokens; reuse ${reuseDetected}, ` +
      `invalid_grant ${invalidGrant}`,
    bound: "each refresh token presented once",
    violations
  }
}
