/**
 * Which key sealed each provider's record, as this replica last read or
 * wrote it, so a write over a record sealed with another key (or in clear)
 * is logged as the re-seal it is, once, as a `key-rotation` audit line
 * (logging/AuditLog.ts): the provider, the key ids before and after, the
 * token's version, and the replica and term of the fence being written
 * (every leader's write carries its own), never key material. That line is
 * how an operator follows a key rotation (docs/key-rotation.md).
 */
import type { ProviderState } from "@tokenbus/core"
import { Effect } from "effect"
import type { Storage } from "../../config/StorageConfig.ts"
import { auditLog } from "../../logging/AuditLog.ts"
import { writeLabel } from "../StoredState.ts"

const resealedMessage = "re-sealed the provider's state with the write key"
const unsealedMessage = "wrote the provider's state in clear (storage.accessTokensInClear); it was sealed"

/** The labels (key ids, or "clear") of a record's secrets, and its revision. */
interface Seal {
  readonly revision: number
  readonly labels: ReadonlyArray<string>
}

export const makeReseals = (storage: Storage) => {
  const label = writeLabel(storage)
  const seals = new Map<string, Seal>()

  /** A record read at `revision`, its secrets sealed as `labels` say. */
  const read = (provider: string, revision: number, labels: ReadonlyArray<string>): void => {
    seals.set(provider, { revision, labels })
  }

  /** `state` written at `revision` over `expected`: logs a re-seal of what that revision held. */
  const written = (provider: string, expected: number | undefined, revision: number, state: ProviderState) =>
    Effect.suspend(() => {
      const before = seals.get(provider)
      const secrets = state.token !== undefined || state.carry !== undefined
      seals.set(provider, { revision, labels: secrets ? [label] : [] })
      const replaced = before?.revision === expected ? (before?.labels ?? []).filter((l) => l !== label) : []
      if (!secrets || replaced.length === 0) return Effect.void
      const sealed = storage.sealing === "sealed"
      return auditLog("key-rotation", sealed ? resealedMessage : unsealedMessage, {
        provider,
        reason: sealed ? "resealed" : "written-in-clear",
        version: state.token?.version,
        replica: state.fence?.holder,
        term: state.fence?.term
      }, { oldKeyId: replaced.join(","), newKeyId: label })
    })

  return { read, written }
}
