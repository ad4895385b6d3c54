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
import { ReplicaMetrics } from "../observe/ReplicaMetrics.ts"
import { leaderAudit } from "./internal/LeaderAudit.ts"

export interface Breaker {
  /** The provider as last resolved (secrets rotate): mint with its minter. */
  readonly current: Effect.Effect<ConfiguredProvider>
  /** Trips the breaker for `reason`; always fails, with `CredentialsRejected` once it is recorded. */
  readonly trip: (reason: string) => Effect.Effect<never, CredentialsRejected | WriteError>
  /** Fails while the breaker holds, unless the credentials changed or an operator asks. */
  readonly check: (reason: MintReason) => Effect.Effect<void, CredentialsRejected | WriteError>
}

export const makeBreaker = Effect.fnUntraced(function*(configured: ConfiguredProvider, state: FencedState) {
  const id = configured.id
  const credentials = yield* Ref.make(configured)
  const audit = leaderAudit(id, state)
  const metrics = yield* ReplicaMetrics
  metrics.breaker(id, (yield* state.snapshot).state.breaker !== undefined)

  const trip = Effect.fnUntraced(function*(reason: string) {
    const now = yield* Clock.currentTimeMillis
    const { fingerprint } = yield* Ref.get(credentials)
    yield* state.write((s) => ({ ...s.state, breaker: { reason, since: now, fingerprint } }))
    metrics.breaker(id, true)
    yield* audit("breaker-tripped", "the circuit breaker tripped", reason)
    yield* Effect.logError(
      `the upstream rejected the credentials of ${id}: ${reason}. No more tokens will be minted for it ` +
        `until its secret or configuration changes, or an operator runs \`tokenbus reset ${id}\`.`
    )
    return yield* new CredentialsRejected({ provider: id, since: now, message: `credentials rejected: ${reason}` })
  })

  const reloaded = configured.reload().pipe(
    Effect.tapError((error) =>
      Effect.logWarning("cannot read the provider's secret").pipe(Effect.annotateLogs({ error: error.message }))
    ),
    Effect.orElseSucceed(() => configured)
  )

  const check = Effect.fnUntraced(function*(reason: MintReason) {
    const breaker = (yield* state.snapshot).state.breaker
    metrics.breaker(id, breaker !== undefined)
    if (breaker === undefined) return
    const resolved = yield* reloaded
    if (resolved.fingerprint === breaker.fingerprint && reason !== "operator") {
      return yield* new CredentialsRejected({
        provider: id,
        since: breaker.since,
        message: `credentials rejected: ${breaker.reason}; fix the secret or configuration, or run \`tokenbus reset ${id}\``
      })
    }
    yield* Ref.set(credentials, resolved)
    // A carry an unconfirmed call may have spent is dropped too: the next mint starts from the configuration.
    yield* state.write(({ state: { breaker: _, ...rest } }) => {
      if (rest.unconfirmed === undefined) return rest
      const { carry: _carry, unconfirmed: _unconfirmed, ...fresh } = rest
      return fresh
    })
    metrics.breaker(id, false)
    yield* reason === "operator"
      ? audit("breaker-cleared", "operator reset the circuit breaker", "operator")
      : audit("breaker-cleared", "credentials changed; minting again", "credentials-changed")
  })

  return { current: Ref.get(credentials), trip, check } satisfies Breaker
})
