// Leadership by membership, on real replicas over the in-memory NATS under
// TestClock: 24 providers shared by the live members. What must hold as
// members join, leave and crash: every provider ends up led by exactly the
// member rendezvous hashing picks among the live ones, the handovers cost the
// upstream nothing (each provider was minted for once), and every takeover
// fenced with a term above the one before it.
import { assert, describe, it } from "@effect/vitest"
import { makeSubjects, rendezvousOwner } from "@tokenbus/core"
import { Effect } from "effect"
import type { ConfiguredProvider } from "../../src/config/ConfiguredProvider.ts"
import {
  advance,
  configFor,
  makeMemoryNats,
  makeUpstream,
  type MemoryReplica,
  prefix,
  providerFor,
  startReplica
} from "../support/MemoryCluster.ts"

const ids = Array.from({ length: 24 }, (_, index) => `carrier-${index}`)
const subjects = makeSubjects(prefix)

const setUp = Effect.gen(function*() {
  const nats = yield* makeMemoryNats
  const upstream = yield* makeUpstream
  const base = providerFor(upstream)
  const providers: ReadonlyArray<ConfiguredProvider> = ids.map((id) => ({ ...base, id }))
  const config = { ...configFor(base), providers }
  const observer = yield* nats.connection("observer")
  const tokens = yield* observer.bucket(subjects.tokenBucket, {})
  /** Each provider's fence, as KV holds it. */
  const fences = Effect.forEach(ids, (id) =>
    Effect.map(tokens.get(id), (entry) =>
      entry._tag === "Some" ? (JSON.parse(entry.value.value) as { fence?: { holder: string; term: number } }).fence : undefined))
  return { nats, upstream, config, fences }
})

/** Every provider is fenced by the member rendezvous picks among `live`. */
const assertLedBy = (fences: ReadonlyArray<{ holder: string } | undefined>, live: ReadonlyArray<MemoryReplica>) => {
  const members = live.map((replica) => replica.id)
  ids.forEach((id, index) => assert.strictEqual(fences[index]?.holder, rendezvousOwner(id, members), id))
}

describe("providers shared by the live members", () => {
  it.effect("a member joining takes its share over from live leaders without a mint, with higher terms", () =>
    Effect.gen(function*() {
      const { config, fences, nats, upstream } = yield* setUp
      const first = [yield* startReplica(nats, config, "replica-1"), yield* startReplica(nats, config, "replica-2")]
      yield* advance(2_000)
      assertLedBy(yield* fences, first)
      assert.strictEqual(yield* upstream.calls, ids.length)
      const before = yield* fences

      const joined = [...first, yield* startReplica(nats, config, "replica-3")]
      yield* advance(3_000)
      const after = yield* fences
      assertLedBy(after, joined)
      const moved = ids.filter((_, index) => after[index]?.holder !== before[index]?.holder)
      assert.isAbove(moved.length, 0, "the newcomer got nothing")
      for (const id of moved) assert.strictEqual(after[ids.indexOf(id)]?.holder, "replica-3", `${id} moved elsewhere`)
      for (const id of moved) assert.isAbove(after[ids.indexOf(id)]!.term, before[ids.indexOf(id)]!.term)
      assert.strictEqual(yield* upstream.calls, ids.length, "a handover called the upstream")
    }))

  it.effect("a member leaving or crashing gives its providers to the others, and nothing else moves", () =>
    Effect.gen(function*() {
      const { config, fences, nats, upstream } = yield* setUp
      const replicas = [
        yield* startReplica(nats, config, "replica-1"),
        yield* startReplica(nats, config, "replica-2"),
        yield* startReplica(nats, config, "replica-3")
      ]
      yield* advance(2_000)
      assertLedBy(yield* fences, replicas)
      const [one, two, three] = replicas as [MemoryReplica, MemoryReplica, MemoryReplica]

      const before = yield* fences
      yield* three.stop
      yield* advance(500)
      const afterLeave = yield* fences
      assertLedBy(afterLeave, [one, two])
      ids.forEach((id, index) => {
        if (before[index]?.holder !== "replica-3") assert.deepStrictEqual(afterLeave[index], before[index], `${id} moved`)
      })

      // A crash: nothing is deleted; the others count it gone a lease's length after its last renewal.
      yield* two.connection.disconnect
      yield* advance(config.lease.ttlMillis + 1_000)
      assertLedBy(yield* fences, [one])
      assert.strictEqual(yield* upstream.calls, ids.length)
    }))
})
