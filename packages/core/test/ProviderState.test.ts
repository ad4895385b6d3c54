// Fencing: once a leader has written its fence, no older leader's write can
// land. The property plays leaders against a model of KV's compare-and-set
// with every interleaving fast-check can find: stale reads, late writes,
// elections in the middle of anything.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { checkFence, type Fence, type ProviderState } from "../src/ProviderState.ts"

describe("checkFence", () => {
  const mine: Fence = { holder: "b", term: 7 }
  it("is ours when the fence is our holder and term", () => {
    assert.strictEqual(checkFence({ fence: mine }, mine), "ours")
  })
  it("is unfenced when nobody, or an older term, wrote last", () => {
    assert.strictEqual(checkFence({}, mine), "unfenced")
    assert.strictEqual(checkFence({ fence: { holder: "a", term: 3 } }, mine), "unfenced")
  })
  it("is deposed when a newer term wrote", () => {
    assert.strictEqual(checkFence({ fence: { holder: "c", term: 9 } }, mine), "deposed")
  })
  it("is deposed when another holder claims the same term (it cannot be ours)", () => {
    assert.strictEqual(checkFence({ fence: { holder: "c", term: 7 } }, mine), "deposed")
  })
})

interface Kv {
  readonly revision: number
  readonly state: ProviderState
}

interface Leader {
  readonly fence: Fence
  view: Kv | undefined
  stopped: boolean
}

type Action =
  | { readonly _tag: "Elect" }
  | { readonly _tag: "Read"; readonly leader: number }
  | { readonly _tag: "Write"; readonly leader: number }

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Action>({ _tag: "Elect" }) },
  { weight: 3, arbitrary: fc.nat(5).map((leader): Action => ({ _tag: "Read", leader })) },
  { weight: 4, arbitrary: fc.nat(5).map((leader): Action => ({ _tag: "Write", leader })) }
)

/**
 * Leaders follow the service's protocol: write only from a state read that
 * is theirs or unfenced (adding their fence); on a conflict, read again and
 * stop if a newer fence is there. Returns the fence of every write that landed.
 */
const play = (actions: ReadonlyArray<Action>): ReadonlyArray<Fence> => {
  let kv: Kv = { revision: 0, state: {} }
  const leaders: Array<Leader> = []
  const landed: Array<Fence> = []
  for (const a of actions) {
    if (a._tag === "Elect") {
      // Terms come from the lock's revisions: they only grow.
      leaders.push({ fence: { holder: `r${leaders.length}`, term: leaders.length + 1 }, view: undefined, stopped: false })
      continue
    }
    const leader = leaders[a.leader % Math.max(1, leaders.length)]
    if (leader === undefined || leader.stopped) continue
    if (a._tag === "Read") {
      leader.view = kv
      continue
    }
    if (leader.view === undefined) continue
    if (checkFence(leader.view.state, leader.fence) === "deposed") {
      leader.stopped = true
      continue
    }
    if (leader.view.revision !== kv.revision) {
      leader.view = kv
      if (checkFence(kv.state, leader.fence) === "deposed") leader.stopped = true
      continue
    }
    kv = { revision: kv.revision + 1, state: { ...leader.view.state, fence: leader.fence } }
    leader.view = kv
    landed.push(leader.fence)
  }
  return landed
}

describe("fencing", () => {
  it("once a leader's fence has landed, no older leader's write lands", () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 200 }), (actions) => {
        const landed = play(actions)
        for (let i = 1; i < landed.length; i++) {
          assert.isAtLeast((landed[i] as Fence).term, (landed[i - 1] as Fence).term, JSON.stringify(landed))
        }
      }),
      { numRuns: 2_000 }
    )
  })

  it("a deposed leader that wakes with a stale view stops instead of writing", () => {
    const landed = play([
      { _tag: "Elect" },
      { _tag: "Read", leader: 0 },
      { _tag: "Write", leader: 0 }, // r0 fences
      { _tag: "Read", leader: 0 }, // r0 prepares a commit... and pauses
      { _tag: "Elect" },
      { _tag: "Read", leader: 1 },
      { _tag: "Write", leader: 1 }, // r1 fences
      { _tag: "Write", leader: 0 }, // r0 wakes: conflict, reads, finds r1's fence, stops
      { _tag: "Read", leader: 0 },
      { _tag: "Write", leader: 0 }
    ])
    assert.deepStrictEqual(landed.map((fence) => fence.holder), ["r0", "r1"])
  })
})
