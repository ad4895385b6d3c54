/**
 * The invariants about recovering: after a revocation at t every consumer
 * holds a newer token by t + the bound, and once every fault is healed every
 * consumer holds the newest committed token within the bound. Both read the
 * consumers' held-token changes, sampled every 25 ms.
 */
import {
  CONVERGENCE_BOUND_MILLIS,
  CRM_RATE_LIMIT,
  P44,
  P44_RATE_LIMIT,
  PROVIDERS,
  REVOCATION_RECOVERY_BOUND_MILLIS
} from "./ChaosSettings.ts"
import { type CheckInput, commits, millisOrNever, offset, type Verdict } from "./CheckInput.ts"
import { documentedHalts } from "./BreakerTrips.ts"
import { firstHolding, heldByConsumer } from "./Timeline.ts"

/** Per revocation, each consumer's time to hold a newer token (undefined: it never did). */
export const recoveries = (input: CheckInput) =>
  input.history.of("revocation").map((revocation) => {
    const held = heldByConsumer(input.history, revocation.provider)
    const times = [...held].map(([consumer, events]) => {
      const at = firstHolding(events, revocation.at, (version) => version > revocation.version)
      return { consumer, millis: at === undefined ? undefined : at - revocation.at }
    })
    return { revocation, times }
  })

/** A revocation whose recovery window reaches a documented halt of its provider is the operator's to recover. */
const haltedDuring = (halts: ReadonlyMap<string, number>, provider: string, from: number, until: number) => {
  const halt = halts.get(provider)
  return halt !== undefined && halt <= until && from <= until
}

/**
 * The bound for a revocation at `at`. When a leader rebuilt its provider's
 * lost state (a bucket deleted and recreated) shortly before, or finds it
 * lost while the revocation is still within its bound (no leader was there
 * to look since the bucket came back), the product waits out one rate-limit
 * window before calling the upstream again, as it documents: the calls of the
 * last window are unknown, and the limit comes first. The bound then runs
 * from the end of that window.
 */
const recoveryBound = (input: CheckInput, provider: string, at: number): number => {
  const rebuilt = input.history.of("log").filter((line) =>
    line.provider === provider && line.msg.startsWith("the provider's state in KV was lost") &&
    line.at <= at + REVOCATION_RECOVERY_BOUND_MILLIS)
  const windowMillis = provider === P44 ? P44_RATE_LIMIT.windowMillis : CRM_RATE_LIMIT.windowMillis
  const waitsUntil = Math.max(0, ...rebuilt.map((line) => line.at + windowMillis))
  return Math.max(REVOCATION_RECOVERY_BOUND_MILLIS, waitsUntil - at + REVOCATION_RECOVERY_BOUND_MILLIS)
}

export const revocationRecovery = (input: CheckInput): Verdict => {
  const violations: Array<string> = []
  let worst = 0
  const halts = documentedHalts(input)
  const all = recoveries(input).filter(({ revocation }) =>
    !haltedDuring(halts, revocation.provider, revocation.at, revocation.at + REVOCATION_RECOVERY_BOUND_MILLIS))
  const skipped = recoveries(input).length - all.length
  let unobserved = 0
  for (const { revocation, times } of all) {
    const bound = recoveryBound(input, revocation.provider, revocation.at)
    if (revocation.at + bound > input.end && times.some(({ millis }) => millis === undefined)) {
      unobserved++
      continue
    }
    for (const { consumer, millis } of times) {
      const revoked = `${revocation.provider} v${revocation.version} revoked at ${offset(input, revocation.at)}`
      const what = `${revoked}: ${consumer}`
      if (millis === undefined) violations.push(`${what} never held a newer token`)
      else if (millis > bound) violations.push(`${what} held a newer one after ${millis} ms (bound ${bound} ms)`)
      worst = Math.max(worst, millis ?? Infinity)
    }
  }
  return {
    invariant: "every consumer holds a newer token after a revocation",
    observed: `${all.length} revocations; slowest consumer ${all.length === 0 ? "-" : millisOrNever(worst)}` +
      (skipped === 0 ? "" : `; ${skipped} after a documented breaker halt (operator's to recover)`) +
      (unobserved === 0 ? "" : `; ${unobserved} whose bound ends after the run (not checked)`),
    bound: `by t + ${REVOCATION_RECOVERY_BOUND_MILLIS} ms (from the end of the budget window after a lost state)`,
    violations
  }
}

export const convergence = (input: CheckInput): Verdict => {
  const violations: Array<string> = []
  const parts: Array<string> = []
  const halts = documentedHalts(input)
  for (const provider of PROVIDERS) {
    if (halts.has(provider)) {
      parts.push(`${provider}: halted by a documented breaker trip at ${offset(input, halts.get(provider)!)}`)
      continue
    }
    const committed = commits(input).filter((line) => line.provider === provider && line.at <= input.healedAt)
    const newest = Math.max(0, ...committed.map((line) => line.version ?? 0))
    let slowest = 0
    for (const [consumer, held] of heldByConsumer(input.history, provider)) {
      const at = firstHolding(held, input.healedAt, (version) => version >= newest)
      const millis = at === undefined ? undefined : at - input.healedAt
      slowest = Math.max(slowest, millis ?? Infinity)
      if (millis === undefined || millis > CONVERGENCE_BOUND_MILLIS) {
        const when = millis === undefined ? "before the run ended" : `until healed + ${millis} ms`
        violations.push(`${consumer} held no unexpired ${provider} token of v${newest} or newer ${when}`)
      }
    }
    parts.push(`${provider} v${newest}: slowest ${millisOrNever(slowest)}`)
  }
  return {
    invariant: "all consumers converge after healing",
    observed: parts.join("; "),
    bound: `newest commit held by healed + ${CONVERGENCE_BOUND_MILLIS} ms`,
    violations
  }
}
