/**
 * Each provider's state in KV (see ProviderState.ts in core): one key per
 * provider, read whole and written whole with a compare-and-set against the
 * revision last read.
 *
 * The store gives each new token its version (a token written without one):
 * `nextVersion` above the newest version it has read or written for the
 * provider and the newest the replica's cache has seen, and above the wall
 * clock in microseconds. Not the write's revision: revisions start over when
 * the tokens bucket is deleted and created again, and a version below what
 * consumers hold is ignored by every cache for good. A state written before
 * versions were explicit gives its token the revision it was introduced at.
 */
import { nextVersion, type ProviderState, ProviderStateJson, Token } from "@tokenbus/core"
import { type KvBucket, type KvConflict, type KvError, NatsConnection } from "@tokenbus/nats"
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import { ReplicaContext } from "../replica/ReplicaContext.ts"

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

/** Past revisions of each provider's state are kept (64, the most KV allows) for audit of who minted what and why. */
const tokenHistory = 64

export interface TokenStoreOptions {
  /** The newest version of `provider` this replica holds in memory, which a new token must pass. */
  readonly seen?: (provider: string) => number | undefined
}

export class TokenStore extends Context.Service<TokenStore, {
  readonly read: (provider: string) => Effect.Effect<Snapshot, KvError>
  /**
   * Writes `state` if KV is still at `expected`; returns what was written, as
   * a snapshot. A token without a version is a new one and gets its version here.
   */
  readonly write: (
    provider: string,
    state: ProviderState,
    expected: number | undefined
  ) => Effect.Effect<Snapshot, KvConflict | KvError>
}>()("@tokenbus/service/TokenStore") {
  /** The store in `bucket`. */
  static readonly make = (bucket: KvBucket, options: TokenStoreOptions = {}): TokenStore["Service"] =>
    makeTokenStore(bucket, options)

  /** The store in the replica's tokens bucket, opened (or created) on the replica's connection. */
  static readonly layer: Layer.Layer<TokenStore, KvError, NatsConnection | ReplicaContext> = Layer.effect(
    TokenStore,
    Effect.gen(function*() {
      const nats = yield* NatsConnection
      const { cache, config, subjects } = yield* ReplicaContext
      const bucket = yield* nats.bucket(subjects.tokenBucket, {
        history: tokenHistory,
        replicas: config.nats.replicas,
        settingNames: { replicas: "nats.replicas" }
      })
      return makeTokenStore(bucket, { seen: (provider) => cache.get(provider)?.version })
    })
  )
}

const makeTokenStore = (bucket: KvBucket, options: TokenStoreOptions): TokenStore["Service"] => {
  // The newest version read or written per provider: what a leader's next token must pass, also
  // once the bucket has lost it.
  const newest = new Map<string, number>()
  const remember = (provider: string, snapshot: Snapshot): Snapshot => {
    const version = snapshot.token?.version
    if (version !== undefined && version > (newest.get(provider) ?? 0)) newest.set(provider, version)
    return snapshot
  }

  const read = (provider: string) =>
    bucket.get(provider).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeed(empty),
        onSome: ({ revision, value }) =>
          Option.match(decodeState(value), {
            onSome: (state) => Effect.succeed(remember(provider, snapshotOf(provider, revision, state))),
            onNone: () =>
              Effect.logError("stored provider state does not decode; it will be replaced").pipe(
                Effect.annotateLogs({ provider, revision }),
                Effect.as<Snapshot>({ ...empty, revision })
              )
          })
      }))
    )

  /** The state with its token's version: a new token's is chosen now. */
  const versioned = (provider: string, state: ProviderState): Effect.Effect<ProviderState> => {
    const token = state.token
    if (token === undefined || token.version !== undefined) return Effect.succeed(state)
    return Effect.map(Clock.currentTimeMillis, (now) => {
      const version = nextVersion([newest.get(provider), options.seen?.(provider)], now)
      return { ...state, token: { ...token, version } }
    })
  }

  const write = (provider: string, state: ProviderState, expected: number | undefined) =>
    Effect.flatMap(versioned(provider, state), (next) => {
      const value = encodeState(next)
      const written = expected === undefined ? bucket.create(provider, value) : bucket.update(provider, value, expected)
      return written.pipe(Effect.map((revision) => remember(provider, snapshotOf(provider, revision, next))))
    })

  return { read, write }
}
