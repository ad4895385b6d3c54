/**
 * Each provider's state in KV (see ProviderState.ts in core): one key per
 * provider, read whole and written whole with a compare-and-set against the
 * revision last read. A token's version is the revision of the write that
 * introduced it; reads fill it in, so any state written back from a snapshot
 * keeps its token's version.
 */
import { type ProviderState, ProviderStateJson, Token } from "@tokenbus/core"
import type { KvBucket } from "@tokenbus/nats"
import { Effect, Option, Schema } from "effect"

const encodeState = Schema.encodeSync(ProviderStateJson)
const decodeState = Schema.decodeUnknownOption(ProviderStateJson)

/** A provider's state as read at `revision` (undefined: never written). */
export interface Snapshot {
  readonly revision: number | undefined
  readonly state: ProviderState
  readonly token: Token | undefined
}

const empty: Snapshot = { revision: undefined, state: {}, token: undefined }

const snapshotOf = (provider: string, revision: number, state: ProviderState): Snapshot => {
  if (state.token === undefined) return { revision, state, token: undefined }
  const stored = { ...state.token, version: state.token.version ?? revision }
  const { version, ...record } = stored
  return { revision, state: { ...state, token: stored }, token: new Token({ provider, version, ...record }) }
}

export const makeTokenStore = (bucket: KvBucket) => {
  const read = (provider: string) =>
    bucket.get(provider).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeed(empty),
        onSome: ({ revision, value }) =>
          Option.match(decodeState(value), {
            onSome: (state) => Effect.succeed(snapshotOf(provider, revision, state)),
            onNone: () =>
              Effect.logError("stored provider state does not decode; it will be replaced").pipe(
                Effect.annotateLogs({ provider, revision }),
                Effect.as<Snapshot>({ ...empty, revision })
              )
          })
      }))
    )

  /** Writes `state` if KV is still at `expected`; returns what was written, as a snapshot. */
  const write = (provider: string, state: ProviderState, expected: number | undefined) => {
    const value = encodeState(state)
    const written = expected === undefined ? bucket.create(provider, value) : bucket.update(provider, value, expected)
    return written.pipe(Effect.map((revision) => snapshotOf(provider, revision, state)))
  }

  return { read, write }
}

export type TokenStore = ReturnType<typeof makeTokenStore>
