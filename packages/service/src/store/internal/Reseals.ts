/**
 * Which key sealed each provider's record, as this replica last read or
 * wrote it, so a write over a record sealed with another key (or in clear)
 * is logged as the re-seal it is, once, at info: the provider, the key ids
 * before and after, never key material. That log line is how an operator
 * follows a key rotation (docs/key-rotation.md).
 */
import type { ProviderState } from "@tokenbus/core"
import { Effect } from "effect"
import type { Storage } from "../../config/StorageConfig.ts"
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
      return Effect.logInfo(storage.sealing === "sealed" ? resealedMessage : unsealedMessage).pipe(
        Effect.annotateLogs({ provider, oldKeyId: replaced.join(","), newKeyId: label })
      )
    })

  return { read, written }
}
