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
 *
 * The state's secrets, access token and carry, are sealed with the storage
 * key ring's write key (StoredState.ts) and opened with any key of
 * the ring, so keys rotate without downtime (docs/key-rotation.md). A record
 * sealed with a key the ring lacks, or altered, is logged with its key id
 * and read like a state that does not decode: it will be replaced. So is
 * one whose access token or carry is in clear, unless the storage has no
 * write key or is turning sealing on (`storage.readClear`): anyone who may
 * write the bucket could have written it. A sealed access token is bound to
 * its version, so one copied from an older revision does not open. A write over a
 * record sealed with another key (or in clear) re-seals it with the write
 * key and says so; every new leader first writes its fence, so each takeover
 * re-seals the state it takes over. Without a write key
 * (`accessTokensInClear`) access tokens are written in clear, and a carry
 * never is.
 */
import { nextVersion, type ProviderState, sealingIvBytes, Token } from "@tokenbus/core"
import { type KvBucket, type KvConflict, type KvError, NatsConnection } from "@tokenbus/nats"
import { randomBytes } from "node:crypto"
import { Clock, Context, Effect, Layer, Option, Result, Struct } from "effect"
import type { Storage } from "../config/StorageConfig.ts"
import { ReplicaContext } from "../replica/ReplicaContext.ts"
import { makeReseals } from "./internal/Reseals.ts"
import { decodeStoredState, encodeStoredState, openingKeys } from "./StoredState.ts"

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
  /** How the state's secrets are kept: sealed with a key ring, or access tokens in clear. */
  readonly storage: Storage
  /** The newest version of `provider` this replica holds in memory, which a new token must pass. */
  readonly seen?: (provider: string) => number | undefined
  /** The replica's id, on the store's log lines. */
  readonly replica?: string
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
  static readonly make = (bucket: KvBucket, options: TokenStoreOptions): TokenStore["Service"] =>
    makeTokenStore(bucket, options)

  /** The store in the replica's tokens bucket, opened (or created) on the replica's connection. */
  static readonly layer: Layer.Layer<TokenStore, KvError, NatsConnection | ReplicaContext> = Layer.effect(
    TokenStore,
    Effect.gen(function*() {
      const nats = yield* NatsConnection
      const { cache, config, replicaId, subjects } = yield* ReplicaContext
      const bucket = yield* nats.bucket(subjects.tokenBucket, {
        history: tokenHistory,
        replicas: config.nats.replicas,
        settingNames: { replicas: "nats.replicas" }
      })
      yield* logStorage(config.storage).pipe(Effect.annotateLogs({ replica: replicaId }))
      const seen = (provider: string) => cache.get(provider)?.version
      return makeTokenStore(bucket, { storage: config.storage, seen, replica: replicaId })
    })
  )
}

const logStorage = (storage: Storage) => {
  const keyIds = openingKeys(storage).map((key) => key.id).join(",")
  return storage.sealing === "sealed"
    ? Effect.logInfo("tokens and carries in KV are sealed").pipe(
      Effect.annotateLogs({ writeKeyId: storage.ring.write.id, keyIds })
    )
    : Effect.logWarning("access tokens are written to KV in clear (storage.accessTokensInClear)").pipe(
      Effect.annotateLogs({ keyIds })
    )
}

/** Without a write key a carry is not stored: start-up refuses such a provider, so this is a kind's mistake. */
const storable = (storage: Storage, provider: string, state: ProviderState): Effect.Effect<ProviderState> =>
  storage.sealing === "sealed" || state.carry === undefined ? Effect.succeed(state) : Effect.logError(
    "a carry was not stored: storage has no write key to seal it with; add storage.keys and storage.writeKey"
  ).pipe(Effect.annotateLogs({ provider }), Effect.as(Struct.omit(state, ["carry"])))

/** The record KV keeps: each secret sealed with an IV of its own. */
const recordOf = (storage: Storage, provider: string, state: ProviderState) =>
  Effect.sync(() => ({ accessToken: randomBytes(sealingIvBytes), carry: randomBytes(sealingIvBytes) })).pipe(
    Effect.flatMap((ivs) => Effect.fromResult(encodeStoredState(storage, provider, state, ivs))),
    // The keys were checked at start-up and the IVs are drawn here at the right size: sealing cannot fail.
    Effect.orDie
  )

const makeTokenStore = (bucket: KvBucket, options: TokenStoreOptions): TokenStore["Service"] => {
  const { storage } = options
  const reseals = makeReseals(storage)
  const annotated = <A, E>(effect: Effect.Effect<A, E>) =>
    options.replica === undefined ? effect : effect.pipe(Effect.annotateLogs({ replica: options.replica }))
  // The newest version read or written per provider: what a leader's next token must pass, also
  // once the bucket has lost it.
  const newest = new Map<string, number>()
  const remember = (provider: string, snapshot: Snapshot): Snapshot => {
    const version = snapshot.token?.version
    if (version !== undefined && version > (newest.get(provider) ?? 0)) newest.set(provider, version)
    return snapshot
  }

  const decodeRecord = (provider: string, revision: number, value: string) =>
    Result.match(decodeStoredState(storage, provider, value), {
      onFailure: (error) =>
        Effect.logError(`${error.message}; it will be replaced`).pipe(
          Effect.annotateLogs({ provider, revision }),
          Effect.annotateLogs(error.keyId === undefined ? {} : { keyId: error.keyId }),
          Effect.as<Snapshot>({ ...empty, revision })
        ),
      onSuccess: ({ labels, state }) =>
        Effect.sync(() => {
          reseals.read(provider, revision, labels)
          return remember(provider, snapshotOf(provider, revision, state))
        })
    })

  const read = (provider: string) =>
    bucket.get(provider).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeed(empty),
        onSome: ({ revision, value }) => decodeRecord(provider, revision, value)
      })),
      annotated
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
    Effect.gen(function*() {
      const next = yield* versioned(provider, yield* storable(storage, provider, state))
      const value = yield* recordOf(storage, provider, next)
      const revision = yield* (expected === undefined
        ? bucket.create(provider, value)
        : bucket.update(provider, value, expected))
      yield* reseals.written(provider, expected, revision, next)
      return remember(provider, snapshotOf(provider, revision, next))
    }).pipe(annotated)

  return { read, write }
}
