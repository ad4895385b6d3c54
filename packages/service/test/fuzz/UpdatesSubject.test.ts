// The updates subject as a replica follows it, `<prefix>.token.*.updates`:
// anyone who can publish there reaches every replica's cache. Fuzzed against
// two real replicas holding the cluster's key on the in-memory NATS, with the
// hostile updates of core's test support (support/HostileUpdates.ts:
// malformed, wrong fields, another provider's token, implausible versions,
// replays, bad or missing signatures) and good, signed updates of providers
// no replica serves. No replica keeps any of them: each holds the token it
// had and nothing for other providers; nothing dies; the lines about
// dropped updates stay bounded; and a good update after them is kept.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Clock, Effect } from "effect"
import {
  clusterKeyPair,
  goodUpdate,
  heldSlot,
  hostileUpdates,
  olderSlot,
  otherProvider
} from "../../../core/test/support/HostileUpdates.ts"
import { advance } from "../support/MemoryCluster.ts"
import { capturingLogs, forAll, type LogLine, PROVIDER, startFuzzCluster, subjects } from "./FuzzCluster.ts"

const runs = 1_000

/** How often a replica may log about dropped updates: once a period, after the first. */
const warningPeriodMillis = 10_000

const hostile = fc.oneof(
  hostileUpdates(PROVIDER).map((update) => ({ provider: PROVIDER, json: update.json })),
  fc.tuple(otherProvider(PROVIDER), fc.integer({ min: 1, max: 10 ** 9 })).map(([other, version]) => ({
    provider: other,
    json: goodUpdate(other, version)
  }))
)

describe("hostile input on the updates subject", () => {
  it.effect(`${runs} updates: no replica keeps any, nor anything for other providers`, () => {
    const lines: Array<LogLine> = []
    return capturingLogs(
      lines,
      Effect.gen(function*() {
        const fuzz = yield* startFuzzCluster(clusterKeyPair.privateKeyPem)
        const startedAt = yield* Clock.currentTimeMillis
        const before = lines.length
        yield* forAll(runs, hostile, ({ json, provider }) =>
          Effect.gen(function*() {
            const held = fuzz.caches.map((cache) => cache.get(PROVIDER))
            const version = yield* fuzz.held
            const sent = json.replaceAll(heldSlot, `${version}`).replaceAll(olderSlot, `${Math.max(1, version - 1)}`)
            yield* fuzz.consumer.publish(subjects.updates(provider), sent)
            yield* fuzz.settle
            fuzz.caches.forEach((cache, index) => {
              assert.strictEqual(cache.get(PROVIDER), held[index], sent.slice(0, 200))
              assert.strictEqual(cache.size, 1)
            })
          }))

        // They were read and dropped, not left unread: a good update is kept by both.
        const next = (yield* fuzz.held) + 1
        yield* fuzz.consumer.publish(subjects.updates(PROVIDER), goodUpdate(PROVIDER, next))
        yield* fuzz.settle
        for (const cache of fuzz.caches) assert.strictEqual(cache.get(PROVIDER)?.version, next)

        yield* advance(warningPeriodMillis + 1_000, 500)
        const elapsed = (yield* Clock.currentTimeMillis) - startedAt
        assert.deepStrictEqual(lines.filter((line) => line.defect || line.message.includes("threw")), [])
        const perReplica = Math.floor(elapsed / warningPeriodMillis) + 2
        assert.isAtMost(lines.length - before, fuzz.caches.length * perReplica, "lines while updates were dropped")
      })
    )
  }, 60_000)
})
