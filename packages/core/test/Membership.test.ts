// A replica's view of the live members. What failover relies on: a member is
// gone once the watch delivers a renewal seen a lease's length after the
// member's own latest, or at once when its key is deleted; and a watch that
// delivers nothing expires nobody, since a dead member and a silent watch
// look alike.
import { assert, describe, it } from "@effect/vitest"
import {
  emptyMemberView,
  expireMembers,
  memberKey,
  memberLeft,
  memberNames,
  memberOfKey,
  memberSeen,
  membersChanged,
  membershipAgeCap,
  sameMembers
} from "../src/Membership.ts"

const ttl = 1_500

describe("the member view", () => {
  it("names members by their key, and ignores other keys of the leases bucket", () => {
    assert.strictEqual(memberOfKey(memberKey("replica-1")), "replica-1")
    assert.isUndefined(memberOfKey("project44"))
    assert.isUndefined(memberOfKey("members."))
  })

  it("keeps a member until a renewal is seen a lease's length after its own latest, then drops it", () => {
    let view = memberSeen(emptyMemberView, "a", "i-a", 0)
    view = memberSeen(view, "b", "i-b", 0)
    view = memberSeen(view, "a", "i-a", 1_000)
    view = memberSeen(view, "a", "i-a", 1_499)
    assert.deepStrictEqual(memberNames(expireMembers(view, ttl)), ["a", "b"])
    view = memberSeen(view, "a", "i-a", 1_500)
    assert.deepStrictEqual(memberNames(expireMembers(view, ttl)), ["a"])
  })

  it("drops a member whose key was deleted at once", () => {
    const view = memberSeen(memberSeen(emptyMemberView, "a", "i-a", 0), "b", "i-b", 0)
    assert.deepStrictEqual(memberNames(memberLeft(view, "b")), ["a"])
    assert.strictEqual(memberLeft(view, "c"), view)
  })

  it("expires nobody while the watch delivers nothing, however long that lasts", () => {
    const view = memberSeen(memberSeen(emptyMemberView, "a", "i-a", 0), "b", "i-b", 100)
    assert.strictEqual(expireMembers(view, ttl), view)
    // The watch delivers again: b renewed meanwhile and stays; a, silent all along, goes.
    assert.deepStrictEqual(memberNames(expireMembers(memberSeen(view, "b", "i-b", 10_000), ttl)), ["b"])
  })

  it("dates changes delivered together by the server's clock, relative to the newest of them", () => {
    // A replay at monotonic 50,000: a's last renewal written 1.2 s before b's, c deleted.
    const replay = [
      { member: "a", operation: "PUT" as const, instance: "i-a", writtenAt: 7_000 },
      { member: "c", operation: "DEL" as const, instance: "", writtenAt: 7_100 },
      { member: "b", operation: "PUT" as const, instance: "i-b", writtenAt: 8_200 }
    ]
    const view = membersChanged(memberSeen(emptyMemberView, "c", "i-c", 49_000), replay, 50_000, 10_000)
    assert.deepStrictEqual([...view], [["a", { instance: "i-a", seenAt: 48_800 }], ["b", { instance: "i-b", seenAt: 50_000 }]])
    // a is gone once a renewal is seen a lease after its write, 300 ms after the replay here.
    assert.deepStrictEqual(memberNames(expireMembers(memberSeen(view, "b", "i-b", 50_300), ttl)), ["b"])
    // One change alone is seen now, as before.
    assert.deepStrictEqual(membersChanged(emptyMemberView, replay.slice(0, 1), 60_000, 10_000).get("a")?.seenAt, 60_000)
  })

  it("dates a renewal no older than the cap, a renewal period short of the lease", () => {
    const lease = { ttlMillis: 1_500, renewEveryMillis: 300 }
    assert.strictEqual(membershipAgeCap(lease), 1_200)
    // Two servers' clocks 5 s apart: a, renewing on schedule, is dated 1.2 s old, not 5 s, so not gone...
    const skewed = [
      { member: "a", operation: "PUT" as const, instance: "i-a", writtenAt: 1_000 },
      { member: "b", operation: "PUT" as const, instance: "i-b", writtenAt: 6_000 }
    ]
    const view = membersChanged(emptyMemberView, skewed, 50_000, membershipAgeCap(lease))
    assert.strictEqual(view.get("a")?.seenAt, 48_800)
    assert.deepStrictEqual(memberNames(expireMembers(view, lease.ttlMillis)), ["a", "b"])
    // ...nor by anything seen before its next renewal, due within the period.
    assert.deepStrictEqual(memberNames(expireMembers(memberSeen(view, "b", "i-b", 50_299), lease.ttlMillis)), ["a", "b"])
  })

  it("compares member lists as sets in sorted order", () => {
    assert.isTrue(sameMembers(["a", "b"], ["a", "b"]))
    assert.isFalse(sameMembers(["a", "b"], ["a"]))
    assert.isFalse(sameMembers(["a", "b"], ["a", "c"]))
  })
})
