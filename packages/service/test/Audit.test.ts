// The audit trail of real replicas on the in-memory NATS, under TestClock, as
// the PinoLogger writes it: every mint, breaker change and operator request
// is one info line with `audit: true`, its `event`, and the provider, reason,
// version, replica and term, checked against what the consumer was given and
// the term the leader's lock was taken at ("became leader"), across a
// failover too, and a token changed outside tokenbus says what asked for it.
// Nothing the upstream issued is in any line.
import { assert, describe, expect, it } from "@effect/vitest"
import { type Token } from "@tokenbus/core"
import { Effect, Logger, References, Stream } from "effect"
import type { ConfiguredProvider } from "../src/config/ConfiguredProvider.ts"
import * as PinoLogger from "../src/logging/PinoLogger.ts"
import {
  advance,
  configFor,
  errorOf,
  getToken,
  lockHolder,
  makeMemoryNats,
  makeUpstream,
  PROVIDER,
  providerFor,
  reportUnauthorized,
  request,
  startReplica,
  subjects,
  tokenOf
} from "./support/MemoryCluster.ts"

type Line = Record<string, unknown>

/** Runs `test` with every log line of the replicas it starts kept, as the PinoLogger writes them. */
const withLog = <A, E, R>(test: (log: { readonly lines: () => ReadonlyArray<Line> }) => Effect.Effect<A, E, R>) => {
  const raw: Array<string> = []
  const lines = () => raw.map((line) => JSON.parse(line) as Line)
  return test({ lines }).pipe(
    Effect.tap(() =>
      Effect.sync(() => {
        // What the upstream issued (`token-<n>`, `carry-<n>`) never reaches a line.
        for (const line of raw) expect(/\b(token|carry)-\d+\b/.test(line), "a line holds an issued token").toBe(false)
      })
    ),
    Effect.provide(Logger.layer([PinoLogger.make({ write: (line: string) => void raw.push(line) })])),
    Effect.provideService(References.MinimumLogLevel, "Info")
  )
}

const minted = "minted and committed a token"
const asked = "an operator asked for a new token"

const auditLines = (lines: ReadonlyArray<Line>) => lines.filter((line) => line["audit"] === true)

/** The term `replica`'s lock was taken at, as its "became leader" line says (the last one, after a failover). */
const termOf = (lines: ReadonlyArray<Line>, replica: string): number => {
  const elected = lines.filter((line) => line["msg"] === "became leader" && line["replica"] === replica)
  const term = elected.at(-1)?.["term"]
  assert.isNumber(term, `${replica} has no "became leader" line with a term`)
  return term as number
}

/** An audit line as the test expects it: info, `audit: true`, the event and all five fields. */
const audit = (fields: {
  readonly event: string
  readonly msg: string
  readonly reason: string | RegExp
  readonly version: number
  readonly replica: string
  readonly term: number
}) => ({
  level: 30,
  audit: true,
  provider: PROVIDER,
  ...fields,
  reason: typeof fields.reason === "string" ? fields.reason : expect.stringMatching(fields.reason)
})

/** Two replicas of `provider`, a consumer, and the first token. */
const cluster = (provider: ConfiguredProvider) =>
  Effect.gen(function*() {
    const nats = yield* makeMemoryNats
    const config = configFor(provider)
    const replicas = [yield* startReplica(nats, config, "replica-1"), yield* startReplica(nats, config, "replica-2")]
    const consumer = yield* nats.connection("consumer")
    yield* advance(1_500)
    const first = tokenOf(yield* getToken(consumer))
    const leader = yield* lockHolder(consumer)
    assert.isDefined(leader)
    return { consumer, replicas, first, leader: leader! }
  })

describe("the audit trail", () => {
  it.effect("a mint, a breaker trip and an operator reset: one audit line each, with all five fields", () =>
    withLog(({ lines }) =>
      Effect.gen(function*() {
        const upstream = yield* makeUpstream
        const { consumer, first, leader } = yield* cluster(providerFor(upstream))
        const term = termOf(lines(), leader)
        const at = { replica: leader, term }
        expect(auditLines(lines())).toEqual([
          expect.objectContaining(
            audit({ event: "mint", msg: minted, reason: "initial", version: first.version, ...at })
          )
        ])

        yield* upstream.answerNext("credentials-rejected")
        assert.strictEqual(errorOf(yield* reportUnauthorized(consumer, first))._tag, "CredentialsRejected")
        const reset = tokenOf(yield* request(consumer, subjects.mint(PROVIDER), { reason: "operator" }))
        assert.strictEqual(reset.reason, "operator")

        expect(auditLines(lines()).slice(1)).toEqual([
          expect.objectContaining(audit({
            event: "breaker-tripped",
            msg: "the circuit breaker tripped",
            reason: /^upstream answered 401/,
            version: first.version,
            ...at
          })),
          expect.objectContaining(audit({
            event: "operator-request",
            msg: asked,
            reason: "operator",
            version: first.version,
            ...at
          })),
          expect.objectContaining(audit({
            event: "breaker-cleared",
            msg: "operator reset the circuit breaker",
            reason: "operator",
            version: first.version,
            ...at
          })),
          expect.objectContaining(
            audit({ event: "mint", msg: minted, reason: "operator", version: reset.version, ...at })
          )
        ])
        // The trip still has its error line, for whoever must fix the credentials; it is not an audit line.
        const rejected = (line: Line) => String(line["msg"]).startsWith("the upstream rejected the credentials")
        const tripped = lines().filter(rejected)
        expect(tripped).toMatchObject([{ level: 50 }])
        expect(tripped[0]).not.toHaveProperty("audit")
      })
    ))

  it.effect("a breaker cleared by new credentials, and mints after a failover under the new leader's term", () =>
    withLog(({ lines }) =>
      Effect.gen(function*() {
        const upstream = yield* makeUpstream
        const base = providerFor(upstream)
        // The operator fixes the secret: the provider read again has another fingerprint.
        let fingerprint = base.fingerprint
        const provider: ConfiguredProvider = { ...base, reload: () => Effect.sync(() => ({ ...base, fingerprint })) }
        const { consumer, first, leader, replicas } = yield* cluster(provider)
        const firstTerm = termOf(lines(), leader)

        yield* upstream.answerNext("credentials-rejected")
        assert.strictEqual(errorOf(yield* reportUnauthorized(consumer, first))._tag, "CredentialsRejected")
        fingerprint = "fingerprint-2"
        const second = tokenOf(yield* reportUnauthorized(consumer, first))
        expect(auditLines(lines()).slice(-2)).toEqual([
          expect.objectContaining(audit({
            event: "breaker-cleared",
            msg: "credentials changed; minting again",
            reason: "credentials-changed",
            version: first.version,
            replica: leader,
            term: firstTerm
          })),
          expect.objectContaining(audit({
            event: "mint",
            msg: minted,
            reason: "unauthorized-report",
            version: second.version,
            replica: leader,
            term: firstTerm
          }))
        ])

        // The leader's connection drops: the other replica is elected, and its mint says so.
        yield* replicas.find((replica) => replica.id === leader)!.connection.disconnect
        yield* advance(5_000)
        const next = yield* lockHolder(consumer)
        assert.isDefined(next)
        assert.notStrictEqual(next, leader)
        const nextTerm = termOf(lines(), next!)
        assert.isAbove(nextTerm, firstTerm)
        const third: Token = tokenOf(yield* reportUnauthorized(consumer, second))
        expect(auditLines(lines()).at(-1)).toEqual(expect.objectContaining(audit({
          event: "mint",
          msg: minted,
          reason: "unauthorized-report",
          version: third.version,
          replica: next!,
          term: nextTerm
        })))
      })
    ))

  it.effect("a token that changed outside tokenbus (a static token's file) is an operator request, saying so", () =>
    withLog(({ lines }) =>
      Effect.gen(function*() {
        const upstream = yield* makeUpstream
        // The watch says the token changed a second after the leader took over.
        const provider: ConfiguredProvider = {
          ...providerFor(upstream),
          watch: () => Stream.fromEffect(Effect.sleep("1 second"))
        }
        const { consumer, first, leader } = yield* cluster(provider)
        yield* advance(1_500)
        const changed = tokenOf(yield* getToken(consumer))
        assert.isAbove(changed.version, first.version)
        const at = { replica: leader, term: termOf(lines(), leader) }
        expect(auditLines(lines()).slice(1)).toEqual([
          expect.objectContaining({
            ...audit({ event: "operator-request", msg: asked, reason: "operator", version: first.version, ...at }),
            trigger: "token-file-changed"
          }),
          expect.objectContaining(
            audit({ event: "mint", msg: minted, reason: "operator", version: changed.version, ...at })
          )
        ])
      })
    ))
})
