// Stream entries of the tokens bucket as the replicas write them: a
// provider's state through the store's real encoder (store/StoredState.ts),
// sealed with a real key unless a test asks for access tokens in clear, so
// the status is tested on the records it will meet, never on hand-written copies.
import { randomBytes } from "node:crypto"
import { type BudgetWindow, defaultRateLimit, type ProviderState, sealingIvBytes, take } from "@tokenbus/core"
import { Redacted, Result } from "effect"
import type { Storage } from "../../src/config/StorageConfig.ts"
import type { StreamEntry } from "../../src/status/internal/JetStreamReads.ts"
import { encodeStoredState } from "../../src/store/StoredState.ts"
import { testStorage } from "../support/StorageKeys.ts"

export const ACCESS_TOKEN = "p44_access-token-status-7d1e"
export const CARRY = "refresh-token-status-41aa"

export const storedValue = (provider: string, state: ProviderState, storage: Storage = testStorage): string => {
  const ivs = { accessToken: randomBytes(sealingIvBytes), carry: randomBytes(sealingIvBytes) }
  return Result.getOrThrow(encodeStoredState(storage, provider, state, ivs))
}

export const entryOf = (
  provider: string,
  state: ProviderState,
  options: { readonly revision?: number; readonly storedAt?: number; readonly storage?: Storage } = {}
): StreamEntry => ({
  key: provider,
  revision: options.revision ?? 7,
  operation: "PUT",
  value: storedValue(provider, state, options.storage),
  storedAt: options.storedAt ?? 1_000_000
})

export const tokenAt = (issuedAt: number, version: number | undefined, expiresAt?: number) => ({
  accessToken: Redacted.make(ACCESS_TOKEN),
  tokenType: "Bearer",
  issuedAt,
  ...(expiresAt === undefined ? {} : { expiresAt }),
  reason: "unauthorized-report" as const,
  ...(version === undefined ? {} : { version })
})

/** The budget after the leader's own `take` at each of `times` (the default limit). */
export const spentAt = (first: number, ...times: ReadonlyArray<number>): BudgetWindow => {
  let state: BudgetWindow | undefined
  for (const at of [first, ...times]) {
    const grant = take(defaultRateLimit, state, at)
    if (grant._tag === "Wait") throw new Error(`no call at ${at}`)
    state = grant.state
  }
  if (state === undefined) throw new Error("unreachable")
  return state
}
