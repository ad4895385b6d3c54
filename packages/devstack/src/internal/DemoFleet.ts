/**
 * The demo's fleet: simulated microservices, each a `TokenClient` with its
 * own NATS connection, calling the simulated project44's resource in a loop
 * the way an application would (`client.fetch`, which reports a 401 and
 * retries once with the newer token). A call that still gets a 401 (the
 * budget makes the next token wait) or an error is tried again, as an
 * application's retry would; only a call not served within `DEADLINE_MILLIS`
 * counts as a failure. The counts are plain numbers the story reads.
 */
import { TokenClient } from "@tokenbus/client"
import type { Token } from "@tokenbus/core"
import { Context, Effect, Layer, type Scope } from "effect"

const PACE_MILLIS = 150
const RETRY_MILLIS = 100
/** Longer than the demo's budget window, so a mint that waits for the budget is a wait, not a failure. */
export const DEADLINE_MILLIS = 20_000

export interface FleetCounts {
  /** Calls answered 200. */
  served: number
  /** 401s handed back to a consumer (after the client's own report and retry). */
  unauthorized: number
  /** Errors from the client (no token yet, a timeout), tried again. */
  errors: number
  /** Calls not served within the deadline. */
  failures: number
}

interface Consumer {
  readonly client: TokenClient["Service"]
  /** Since when a recovery is being measured, and when this consumer was served by a call started after it. */
  mark: number | undefined
  recoveredAt: number | undefined
}

export interface Fleet {
  readonly counts: FleetCounts
  /** Starts measuring a recovery from now (performance.now()). */
  readonly mark: () => number
  /** Each consumer's recovery since the mark, in ms, once all have one; undefined while some have not. */
  readonly recoveries: () => ReadonlyArray<number> | undefined
  /**
   * Every consumer takes its token, `revoke` runs, then every consumer reports that token `perConsumer` times
   * at once; resolves to the versions the reports were answered with.
   */
  readonly storm: (
    provider: string,
    perConsumer: number,
    revoke: Effect.Effect<void>
  ) => Effect.Effect<ReadonlyArray<string>>
}

export interface FleetOptions {
  /** What the consumers' NATS connections are named, before their number. */
  readonly name: string
  readonly size: number
  readonly natsUrl: string
  readonly verifyKeyPem: string
  readonly provider: string
  readonly resourceUrl: string
}

/** One call, tried until served or the deadline; built afresh per call, since it notes when it started. */
const call = (consumer: Consumer, counts: FleetCounts, options: FleetOptions) => {
  const started = performance.now()
  const once: Effect.Effect<boolean> = consumer.client.fetch(options.provider, options.resourceUrl).pipe(
    Effect.flatMap((response) => Effect.promise(() => response.arrayBuffer()).pipe(Effect.as(response.status))),
    Effect.map((status) => {
      if (status === 200) return true
      if (status === 401) counts.unauthorized++
      else counts.errors++
      return false
    }),
    Effect.catch(() => Effect.sync(() => counts.errors++).pipe(Effect.as(false)))
  )
  const untilServed: Effect.Effect<void> = once.pipe(
    Effect.flatMap((ok) => ok ? Effect.void : Effect.sleep(RETRY_MILLIS).pipe(Effect.andThen(untilServed)))
  )
  const served = (): void => {
    counts.served++
    const { mark } = consumer
    if (mark !== undefined && started >= mark && consumer.recoveredAt === undefined) {
      consumer.recoveredAt = performance.now()
    }
  }
  return untilServed.pipe(
    Effect.as(true),
    Effect.timeoutOrElse({ duration: DEADLINE_MILLIS, orElse: () => Effect.succeed(false) }),
    Effect.flatMap((ok) => Effect.sync(() => ok ? served() : void counts.failures++))
  )
}

const connect = (options: FleetOptions, index: number) =>
  Layer.build(TokenClient.layerConnect({
    nats: { servers: [options.natsUrl], name: `${options.name}-${index + 1}` },
    verifyKey: options.verifyKeyPem
  })).pipe(
    Effect.map((context): Consumer => ({
      client: Context.get(context, TokenClient),
      mark: undefined,
      recoveredAt: undefined
    }))
  )

/** Connects the fleet and starts its loops; everything stops and disconnects when the scope closes. */
export const startFleet = (options: FleetOptions) =>
  Effect.gen(function*() {
    const counts: FleetCounts = { served: 0, unauthorized: 0, errors: 0, failures: 0 }
    const consumers = yield* Effect.forEach(
      Array.from({ length: options.size }, (_, index) => index),
      (index) => connect(options, index),
      { concurrency: 5 }
    )
    for (const consumer of consumers) {
      const loop = Effect.suspend(() => call(consumer, counts, options)).pipe(Effect.andThen(Effect.sleep(PACE_MILLIS)), Effect.forever)
      yield* Effect.forkScoped(loop)
    }
    const mark = () => {
      const now = performance.now()
      for (const consumer of consumers) {
        consumer.mark = now
        consumer.recoveredAt = undefined
      }
      return now
    }
    const recoveries = () => {
      const times = consumers.map((c) => c.recoveredAt === undefined ? undefined : c.recoveredAt - (c.mark ?? 0))
      return times.every((time) => time !== undefined) ? times as ReadonlyArray<number> : undefined
    }
    const report = (consumer: Consumer, failed: Token, perConsumer: number) =>
      Effect.forEach(
        Array.from({ length: perConsumer }, () => failed),
        (token) => consumer.client.reportUnauthorized(token).pipe(Effect.map((fresh) => String(fresh.version))),
        { concurrency: "unbounded" }
      ).pipe(Effect.catch(() => Effect.sync(() => counts.errors++).pipe(Effect.as([] as Array<string>))))
    const storm = (provider: string, perConsumer: number, revoke: Effect.Effect<void>) =>
      Effect.gen(function*() {
        // The tokens held before the revocation: reporting a newer one would rightly cost a mint of its own.
        const held = yield* Effect.forEach(consumers, (consumer) => consumer.client.getToken(provider))
        yield* revoke
        const answers = yield* Effect.forEach(
          consumers,
          (consumer, index) => report(consumer, held[index]!, perConsumer),
          { concurrency: "unbounded" }
        )
        return answers.flat()
      }).pipe(Effect.catch(() => Effect.sync(() => counts.errors++).pipe(Effect.as([] as Array<string>))))
    return { counts, mark, recoveries, storm } satisfies Fleet
  }) satisfies Effect.Effect<Fleet, unknown, Scope.Scope>
