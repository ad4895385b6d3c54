// Terms are fencing tokens: a leader elected later must hold a higher term,
// also when the leases bucket was deleted and created again and its lock
// revisions started over at 1. `termOf` ranks the bucket's generation (its
// creation time) first, and a term written when terms were bare revisions
// ranks below every term of a generation, so old states still fence right.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { checkFence, termOf } from "../src/ProviderState.ts"

const june2025 = 1_750_000_000_000

describe("termOf", () => {
  it("grows with the revision within a generation", () => {
    assert.isAbove(termOf(june2025, 58), termOf(june2025, 57))
  })

  it("ranks a later generation above an earlier one that took fewer than 1000 lock writes per millisecond", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 10 ** 9 }),
      fc.integer({ min: 1, max: 999 }),
      fc.integer({ min: 1, max: 1000 }),
      (lifeMillis, writesPerMilli, revision) => {
        const oldTerm = termOf(june2025, lifeMillis * writesPerMilli)
        assert.isAbove(termOf(june2025 + lifeMillis, revision), oldTerm)
      }
    ))
  })

  it("lets a leader of a recreated bucket fence over the last leader of the old one, and not the other way", () => {
    const old = { holder: "replica-1", term: termOf(june2025, 5_000) }
    const next = { holder: "replica-2", term: termOf(june2025 + 60_000, 1) }
    assert.strictEqual(checkFence({ fence: old }, next), "unfenced")
    assert.strictEqual(checkFence({ fence: next }, old), "deposed")
    // A fence written when terms were bare lock revisions.
    assert.strictEqual(checkFence({ fence: { holder: "replica-1", term: 123_456 } }, next), "unfenced")
  })

  it("is a safe integer for any creation time before the year 2255", () => {
    assert.isTrue(Number.isSafeInteger(termOf(Date.UTC(2255, 0, 1), 10 ** 9)))
  })
})
