/**
 * The committed token of each provider, in a KV bucket keyed by provider id.
 * A token's version is the KV revision it was written at, and every write is
 * a compare-and-set against the revision the leader last read, so a leader
 * working from stale state cannot overwrite a newer token.
 */
import { Token, TokenRecord } from "@tokenbus/core"
import type { KvBucket } from "@tokenbus/nats"
import { Effect, Option, Schema } from "effect"

const RecordJson = Schema.fromJsonString(TokenRecord)
const encodeRecord = Schema.encodeSync(RecordJson)
const decodeRecord = Schema.decodeUnknownOption(RecordJson)

/** What KV holds for a provider: the revision to compare against, and the token if it decodes. */
export interface Stored {
  readonly revision: number | undefined
  readonly token: Token | undefined
}

export const makeTokenStore = (bucket: KvBucket) => {
  const read = (provider: string) =>
    bucket.get(provider).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeed<Stored>({ revision: undefined, token: undefined }),
        onSome: ({ revision, value }) => {
          const record = decodeRecord(value)
          if (Option.isSome(record)) {
            return Effect.succeed<Stored>({ revision, token: new Token({ provider, version: revision, ...record.value }) })
          }
          return Effect.logError("stored token does not decode; it will be replaced").pipe(
            Effect.annotateLogs({ provider, revision }),
            Effect.as<Stored>({ revision, token: undefined })
          )
        }
      }))
    )

  /** Writes `record` if KV is still at `expected`; the returned token carries its new version. */
  const commit = (provider: string, record: TokenRecord, expected: number | undefined) => {
    const value = encodeRecord(record)
    const write = expected === undefined ? bucket.create(provider, value) : bucket.update(provider, value, expected)
    return write.pipe(Effect.map((version) => new Token({ provider, version, ...record })))
  }

  return { read, commit }
}

export type TokenStore = ReturnType<typeof makeTokenStore>
