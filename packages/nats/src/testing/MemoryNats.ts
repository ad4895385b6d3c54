/**
 * An in-memory NATS server for unit tests: any number of `NatsConnection`
 * clients (one per simulated replica, plus consumers) sharing subjects and
 * KV buckets, with no container and with time from Effect's `Clock`, so
 * `TestClock` drives request timeouts and key expiry.
 *
 * It behaves like NATS core where tokenbus depends on it: `*` and `>`
 * wildcards, fan-out to plain subscribers, one member of a queue group per
 * message (picked at random, from a seed so that a test makes the same
 * choices on every run), asynchronous delivery
 * that keeps each sender's order, request/reply with no-responders, and
 * `serve` draining on close. Each bucket name is one `MemoryKvStore` on the
 * server; the first `bucket()` call for a name decides its TTL, and every
 * connection gets its own view of it. Other settings (history, replicas) and
 * later calls' options change nothing, where a real server would apply them
 * (internal/OpenBucket.ts); `bucketOptions` lists what each connection asked
 * for, so a test can check them. A test deletes and recreates a bucket
 * through `bucketStore`; opening a deleted bucket creates it again, as
 * nats.js's `Kvm.create` does.
 *
 * Faults are per connection (see MemoryNatsConnection.ts) and follow nats.js:
 * a disconnected client's messages are lost, so its requests time out rather
 * than fail; only a closed connection fails requests with `connection`.
 */
import { Clock, Effect, Layer, Option, Random, type Scope } from "effect"
import { type BucketOptions, NatsConnection } from "../NatsConnection.ts"
import { makeMemoryConnection } from "./internal/MemoryConnection.ts"
import { makeRouter, type PublishedMessage } from "./internal/Router.ts"
import { patternTokens, publishTokens } from "./internal/SubjectPattern.ts"
import { makeMemoryKvStore, type MemoryKvStore } from "./MemoryKvBucket.ts"
import type { MemoryNatsConnection } from "./MemoryNatsConnection.ts"

export type { PublishedMessage } from "./internal/Router.ts"

export interface MemoryNats {
  /** A new client, connected until its scope closes. */
  readonly connection: (name: string) => Effect.Effect<MemoryNatsConnection, never, Scope.Scope>
  /** A `NatsConnection` layer that is one new client, for code under test that needs no faults. */
  readonly layer: (name: string) => Layer.Layer<NatsConnection>
  /**
   * Every message that reached the server on a subject matching `pattern`
   * (wildcards allowed), oldest first: publishes, requests and replies. A
   * disconnected client's messages never reach it.
   */
  readonly published: (pattern: string) => Effect.Effect<ReadonlyArray<PublishedMessage>>
  /** How many subscriptions of connected clients a message on `subject` would match. */
  readonly interest: (subject: string) => Effect.Effect<number>
  /** The server side of bucket `name`, once a client has opened it: where a test destroys and recreates it. */
  readonly bucketStore: (name: string) => Effect.Effect<Option.Option<MemoryKvStore>>
  /** The options each connection first opened bucket `name` with, oldest first. */
  readonly bucketOptions: (name: string) => Effect.Effect<ReadonlyArray<BucketOptions>>
}

export interface MemoryNatsOptions {
  /** Seeds the choice of queue group members: another seed, other choices. */
  readonly seed?: string | number
}

const orDie = <A>(subject: string, tokens: A | undefined): Effect.Effect<A> =>
  tokens === undefined ? Effect.die(new Error(`invalid subject "${subject}"`)) : Effect.succeed(tokens)

const currentRandom = Effect.withFiber((fiber) => Effect.succeed(fiber.getRef(Random.Random)))

export const makeMemoryNatsWith = Effect.fnUntraced(function*(options: MemoryNatsOptions) {
  const random = yield* Random.withSeed(currentRandom, options.seed ?? "tokenbus")
  const clock = yield* Clock.Clock
  const router = makeRouter(clock, random)
  const stores = new Map<string, MemoryKvStore>()
  const opened = new Map<string, Array<BucketOptions>>()
  let lastClientId = 0

  /**
   * The bucket's store, made by the first caller (later options are only
   * recorded) on the server's clock, and made again if deleted.
   */
  const store = (name: string, options: BucketOptions): Effect.Effect<MemoryKvStore> =>
    Effect.suspend(() => {
      opened.set(name, [...(opened.get(name) ?? []), options])
      const existing = stores.get(name)
      if (existing !== undefined) {
        const reopen = Effect.flatMap(existing.destroyed, (gone) => (gone ? existing.recreate : Effect.void))
        return Effect.as(reopen, existing)
      }
      const ttl = options.ttlMillis === undefined ? {} : { ttlMillis: options.ttlMillis }
      return Effect.map(Effect.provideService(makeMemoryKvStore(name, ttl), Clock.Clock, clock), (made) => {
        const raced = stores.get(name)
        if (raced !== undefined) return raced
        stores.set(name, made)
        return made
      })
    })

  const connection = (name: string) =>
    Effect.suspend(() => makeMemoryConnection({ router, store, name, clientId: ++lastClientId }))

  const server: MemoryNats = {
    connection,
    layer: (name) => Layer.effect(NatsConnection, connection(name)),
    published: (pattern) =>
      Effect.map(orDie(pattern, patternTokens(pattern)), (tokens) => router.published(tokens)),
    interest: (subject) => Effect.map(orDie(subject, publishTokens(subject)), (tokens) => router.interest(tokens)),
    bucketStore: (name) => Effect.sync(() => Option.fromUndefinedOr(stores.get(name))),
    bucketOptions: (name) => Effect.sync(() => opened.get(name) ?? [])
  }
  return server
})

/** A server with the default seed. */
export const makeMemoryNats: Effect.Effect<MemoryNats> = makeMemoryNatsWith({})
