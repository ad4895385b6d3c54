/**
 * The audit lines of one provider's leader (logging/AuditLog.ts). The replica
 * and term are read from the fence in the state it holds, which every write
 * of this leader carries, rather than from log annotations: an audit line
 * names the leader that wrote the state, whatever fiber logs it.
 */
import { Effect } from "effect"
import type { FencedState } from "../../leadership/FencedState.ts"
import { type AuditEvent, auditLog } from "../../logging/AuditLog.ts"

export type LeaderAudit = (
  event: AuditEvent,
  message: string,
  reason: string,
  /** The version the event produced; absent, the held token's. */
  version?: number
) => Effect.Effect<void>

export const leaderAudit = (provider: string, state: FencedState): LeaderAudit => (event, message, reason, version) =>
  Effect.flatMap(state.snapshot, ({ state: { fence }, token }) =>
    auditLog(event, message, {
      provider,
      reason,
      version: version ?? token?.version,
      replica: fence?.holder,
      term: fence?.term
    }))
