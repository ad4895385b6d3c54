/**
 * The credential circuit breaker of one provider's leader. Tripped when the
 * upstream rejects the credentials (or a token minted after a 401 is itself
 * refused at once), it is part of the provider's state in KV, so a new leader
 * honours it; while it holds, nothing is minted. It clears when the
 * provider's configuration or secret changes (a fingerprint of them is
 * compared, read afresh) or when an operator resets it.
 */
import { CredentialsRejected, type MintReason } from "@tokenbus/core"
import { Clock, Effect, Ref } from "effect"
import type { ConfiguredProvider } from "../config/ConfiguredProvider.ts"
import type { FencedState, WriteError } from "../leadership/FencedState.ts"
import { ReplicaMetrics, type ReplicaMetricsShape } from "../observe/ReplicaMetrics.ts"
import { type LeaderAudit, leaderAudit } from "./internal/LeaderAudit.ts"

export interface Breaker {
  /** The provider as last resolved (secrets rotate): mint with its minter. */
  readonly current: Effect.Effect<ConfiguredProvider>
  /** Trips the breaker for `reason`; always fails, with `CredentialsRejected` once it is recorded. */
  readonly trip: (reason: string) => Effect.Effect<never, CredentialsRejected | WriteError>
  /** Fails while the breaker holds, unless the credentials changed or an operator asks. */
  readonly check: (reason: MintReason) => Effect.Effect<void, CredentialsRejected | WriteError>
}

/** What one provider's breaker runs with; its steps are module functions of it, not closures per provider. */
interface Parts {
  readonly configured: ConfiguredProvider
  readonly state: FencedState
  /** The provider as last resolved. */
  readonly credentials: Ref.Ref<ConfiguredProvider>
  readonly audit: LeaderAudit
  readonly metrics: ReplicaMetricsShape
}

export const makeBreaker = Effect.fnUntraced(function*(configured: ConfiguredProvider, state: FencedState) {
  const metrics = yield* ReplicaMetrics
  metrics.breaker(configured.id, (yield* state.snapshot).state.breaker !== undefined)
  const parts: Parts = {
    configured,
    state,
    credentials: yield* Ref.make(configured),
    audit: leaderAudit(configured.id, state),
    metrics
  }
  return {
    current: Ref.get(parts.credentials),
    trip: (reason) => trip(parts, reason),
    check: (reason) => check(parts, reason)
  } satisfies Breaker
})

const trip = Effect.fnUntraced(function*(parts: Parts, reason: string) {
  const id = parts.configured.id
  const now = yield* Clock.currentTimeMillis
  const { fingerprint } = yield* Ref.get(parts.credentials)
  yield* parts.state.write((s) => ({ ...s.state, breaker: { reason, since: now, fingerprint } }))
  parts.metrics.breaker(id, true)
  yield* parts.audit("breaker-tripped", "the circuit breaker tripped", reason)
  yield* Effect.logError(
    `the upstream rejected the credentials of ${id}: ${reason}. No more tokens will be minted for it ` +
      `until its secret or configuration changes, or an operator runs \`tokenbus reset ${id}\`.`
  )
  return yield* new CredentialsRejected({ provider: id, since: now, message: `credentials rejected: ${reason}` })
})

/** The provider's secrets read again; the configuration held if they cannot be. */
const reloaded = (configured: ConfiguredProvider) =>
  configured.reload().pipe(
    Effect.tapError((error) =>
      Effect.logWarning("cannot read the provider's secret").pipe(Effect.annotateLogs({ error: error.message }))
    ),
    Effect.orElseSucceed(() => configured)
  )

const check = Effect.fnUntraced(function*(parts: Parts, reason: MintReason) {
  const { configured, metrics, state } = parts
  const id = configured.id
  const breaker = (yield* state.snapshot).state.breaker
  metrics.breaker(id, breaker !== undefined)
  if (breaker === undefined) return
  const resolved = yield* reloaded(configured)
  if (resolved.fingerprint === breaker.fingerprint && reason !== "operator") {
    return yield* new CredentialsRejected({
      provider: id,
      since: breaker.since,
      message: `credentials rejected: ${breaker.reason}; fix the secret or configuration, or run \`tokenbus reset ${id}\``
    })
  }
  yield* Ref.set(parts.credentials, resolved)
  // A carry an unconfirmed call may have spent is dropped too: the next mint starts from the configuration.
  yield* state.write(({ state: { breaker: _, ...rest } }) => {
    if (rest.unconfirmed === undefined) return rest
    const { carry: _carry, unconfirmed: _unconfirmed, ...fresh } = rest
    return fresh
  })
  metrics.breaker(id, false)
  yield* reason === "operator"
    ? parts.audit("breaker-cleared", "operator reset the circuit breaker", "operator")
    : parts.audit("breaker-cleared", "credentials changed; minting again", "credentials-changed")
})
