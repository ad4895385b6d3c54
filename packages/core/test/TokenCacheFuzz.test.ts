// TokenCache.offerUpdate is the decoder of the updates subject on every
// replica and client. Fuzzed with the hostile updates of
// support/HostileUpdates.ts, on a cache given the cluster's key and on one
// without: it never throws, never keeps the token of an update it must drop,
// and leaves the token it holds as it was; and it still keeps a good update
// after them, so nothing passes by refusing everything.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { TokenCache } from "../src/TokenCache.ts"
import {
  clusterKey,
  goodUpdate,
  heldSlot,
  heldVersion,
  hostileUpdates,
  now,
  olderSlot,
  tokenOf
} from "./support/HostileUpdates.ts"

const runs = 2_000
const provider = "project44"

describe("TokenCache.offerUpdate under hostile updates", () => {
  it(`${runs} runs: no hostile update is kept, the held token stays, and a good one is still kept after`, () => {
    fc.assert(
      fc.property(
        heldVersion,
        fc.boolean(),
        fc.array(hostileUpdates(provider), { minLength: 1, maxLength: 3 }),
        (version, keyed, updates) => {
          const cache = new TokenCache({ now: () => now, ...(keyed ? { verifyKeys: [clusterKey.verifyKey] } : {}) })
          const held = tokenOf(provider, version)
          assert.isTrue(cache.offer(held))
          for (const update of updates) {
            // Good but for its signature: a cache without the key has no way to tell, by design.
            if (update.needsKey && !keyed) continue
            const json = update.json.replaceAll(heldSlot, `${version}`)
              .replaceAll(olderSlot, `${Math.max(1, version - 1)}`)
            assert.notStrictEqual(cache.offerUpdate(provider, json), "kept", json.slice(0, 200))
            assert.strictEqual(cache.get(provider), held)
            assert.strictEqual(cache.size, 1)
          }
          assert.strictEqual(cache.offerUpdate(provider, goodUpdate(provider, version + 1)), "kept")
          assert.strictEqual(cache.get(provider)?.version, version + 1)
        }
      ),
      { numRuns: runs }
    )
  }, 30_000)
})
