/**
 * The checker: reads a run's history and says, invariant by invariant, what
 * it observed, the bound it holds the run to and every violation, each named
 * with the events that show it. An invariant with no violation holds. The
 * promises are the product's (README, ARCHITECTURE.md, PROTOCOL.md) under
 * the faults the nemesis injects; the bounds come from ChaosSettings.ts. The
 * invariants live by subject in UpstreamInvariants.ts, TokenInvariants.ts
 * RecoveryInvariants.ts and LeaderInvariants.ts; the deployment's own two are here.
 */
import { LEASE, PROVIDERS } from "./ChaosSettings.ts"
import type { CheckInput, Verdict } from "./CheckInput.ts"
import { leaderGaps } from "./LeaderInvariants.ts"
import { convergence, revocationRecovery } from "./RecoveryInvariants.ts"
import { getTokenWhileHolding, oneCommitterPerTerm, oneTokenPerVersion, versionsGrow } from "./TokenInvariants.ts"
import { noRefreshReplay, rateLimit } from "./UpstreamInvariants.ts"

const replication = (input: CheckInput): Verdict => {
  const describe = (r: CheckInput["bucketReplicas"][number]) => `${r.when}: tokens R${r.tokens}, leases R${r.leases}`
  const scaled = input.scaledByTest.length === 0
    ? ""
    : ` (the test scaled ${input.scaledByTest.join(", ")} up: the product did not honour nats.replicas)`
  return {
    invariant: `KV buckets replicated R${input.wantedReplicas}`,
    observed: input.bucketReplicas.map(describe).join("; ") + scaled,
    bound: `R${input.wantedReplicas}`,
    violations: input.bucketReplicas
      .filter((r) => r.tokens < input.wantedReplicas || r.leases < input.wantedReplicas)
      .map(describe)
  }
}

const secretsStayOut = (input: CheckInput): Verdict => ({
  invariant: "no secret in the replicas' output",
  observed: `${input.leaks.length} leaks`,
  bound: "none",
  violations: input.leaks
})

export const checkHistory = (input: CheckInput): Array<Verdict> => [
  ...PROVIDERS.map((provider) => rateLimit(input, provider)),
  oneTokenPerVersion(input),
  versionsGrow(input),
  oneCommitterPerTerm(input),
  leaderGaps(input, PROVIDERS, LEASE.ttlMillis),
  revocationRecovery(input),
  getTokenWhileHolding(input),
  noRefreshReplay(input),
  convergence(input),
  replication(input),
  secretsStayOut(input)
]
