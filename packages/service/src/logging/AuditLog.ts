/**
 * The audit trail: one info line for each event that changes which token a
 * provider has or whether it may mint: a mint, the circuit breaker tripped
 * or cleared, an operator's request, a rotation of the key tokens are sealed
 * with. Every such line has `audit: true`, `event` naming it, and the same
 * five fields (`provider`, `reason`, `version`, `replica`, `term`), so an
 * operator selects them with `jq 'select(.audit)'` and reads each alike.
 * Only ids, numbers and reasons go in: an audit line holds nothing secret.
 */
import { Effect } from "effect"

export type AuditEvent = "mint" | "operator-request" | "breaker-tripped" | "breaker-cleared" | "key-rotation"

export interface AuditFields {
  readonly provider: string
  /** Why: the mint's reason (`initial`, `unauthorized-report`, `proactive`, `operator`), or the event's own. */
  readonly reason: string
  /** The token's version: the one minted, or the one held when the event happened; absent when none is. */
  readonly version: number | undefined
  /** The replica whose leader acted. */
  readonly replica: string | undefined
  /** The leader's term (its fencing token); absent for an event outside leadership. */
  readonly term: number | undefined
}

/**
 * Writes `message` at info as the audit line of `event`. Absent fields are
 * written as `null`, so every audit line has all five. `extra` adds fields of
 * the event's own (a key id), never a secret.
 */
export const auditLog = (
  event: AuditEvent,
  message: string,
  fields: AuditFields,
  extra: Readonly<Record<string, string | number | boolean>> = {}
): Effect.Effect<void> =>
  Effect.logInfo(message).pipe(Effect.annotateLogs({
    ...extra,
    audit: true,
    event,
    provider: fields.provider,
    reason: fields.reason,
    version: fields.version ?? null,
    replica: fields.replica ?? null,
    term: fields.term ?? null
  }))
