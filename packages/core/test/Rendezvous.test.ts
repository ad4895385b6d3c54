// Rendezvous hashing decides which live member leads each provider. What the
// design relies on: every member computes the same owner from the same set
// (whatever order it lists them in), the providers spread evenly, and a member
// joining or leaving moves only the providers it gains or had.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { ownedBy, rendezvousOwner } from "../src/Rendezvous.ts"

const providers = Array.from({ length: 10_000 }, (_, index) => `carrier-${index}`)
const members = ["tokenbus-7f9c-0", "tokenbus-7f9c-1", "tokenbus-7f9c-2"]

const shares = (names: ReadonlyArray<string>) =>
  names.map((member) => ownedBy(member, providers, names).length)

describe("rendezvous hashing", () => {
  it("gives every provider to exactly one member, the same whatever order the members are listed in", () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 6 }),
      fc.string({ maxLength: 20 }),
      (names, provider) => {
        const owner = rendezvousOwner(provider, names)
        assert.include(names, owner)
        assert.strictEqual(rendezvousOwner(provider, [...names].reverse()), owner)
        const claimed = names.filter((member) => ownedBy(member, [provider], names).length === 1)
        assert.deepStrictEqual(claimed, [owner])
      }
    ))
  })

  it("has no owner without members, and gives nothing to a member that is not one", () => {
    assert.isUndefined(rendezvousOwner("project44", []))
    assert.deepStrictEqual(ownedBy("stranger", providers, members), [])
  })

  it("spreads 10,000 providers as evenly as chance would, over 3 members and over 10", () => {
    for (const names of [members, Array.from({ length: 10 }, (_, index) => `replica-${index}`)]) {
      const p = 1 / names.length
      const even = providers.length * p
      // Within four standard deviations of a fair draw: 1 in 15,000 per member for a fair hash.
      const bound = 4 * Math.sqrt(providers.length * p * (1 - p))
      const counts = shares(names)
      assert.strictEqual(counts.reduce((a, b) => a + b, 0), providers.length)
      for (const count of counts) assert.isBelow(Math.abs(count - even), bound, `shares ${counts.join(", ")}`)
    }
  })

  it("moves only the joining member's share when one joins, and only the leaving one's when one leaves", () => {
    const joined = [...members, "tokenbus-7f9c-3"]
    const moved = providers.filter((provider) => rendezvousOwner(provider, members) !== rendezvousOwner(provider, joined))
    for (const provider of moved) assert.strictEqual(rendezvousOwner(provider, joined), "tokenbus-7f9c-3")
    assert.isBelow(Math.abs(moved.length - providers.length / 4) / (providers.length / 4), 0.05)

    const left = members.slice(1)
    for (const provider of providers) {
      const before = rendezvousOwner(provider, members)
      if (before !== members[0]) assert.strictEqual(rendezvousOwner(provider, left), before)
    }
  })
})
