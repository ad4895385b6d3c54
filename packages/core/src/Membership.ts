/**
 * Who is a live member of the cluster, as one replica sees it: the pure
 * part of leadership by membership. Each replica renews one key of its own
 * in the leases bucket; every replica watches those keys and notes, on its
 * own monotonic clock, when it saw each member's latest renewal.
 *
 * A member is gone at once when its key is deleted (a replica shutting
 * down), and once the watch has delivered a renewal, of any member, seen
 * `ttlMillis` or more after that member's own latest: the watch delivers in
 * the order of the stream, so anything the member wrote before that later
 * renewal would have arrived first. That is safe without trusting the
 * server's expiry: the member stops leading at the send time of its last
 * renewal plus the TTL less a safety margin (Lease.ts), and that send time is
 * before the moment the renewal was seen here. And a watch that stops (its
 * connection, a bucket made again) expires nobody: it delivers nothing, so
 * nobody looks older than anybody else.
 *
 * A new watch's replay of each member's last renewal is dated by the
 * server's timestamps: each renewal as much before now as it was written
 * before the newest of them. A replica
 * that starts watching just after a member died would otherwise see that
 * member's last renewal as new, and wait a whole TTL more to count it gone.
 * The newest is seen now, so the rule above still holds for it, and the
 * others are older by what the server measured between the writes, capped
 * short of a lease (`membershipAgeCap`), as those are wall clocks.
 */

/** The prefix of member keys in the leases bucket: `members.<replicaId>`. */
export const memberKeyPrefix = "members."

export const memberKey = (replicaId: string): string => `${memberKeyPrefix}${replicaId}`

/** The replica a key of the leases bucket names, or undefined for any other key. */
export const memberOfKey = (key: string): string | undefined =>
  key.startsWith(memberKeyPrefix) && key.length > memberKeyPrefix.length ? key.slice(memberKeyPrefix.length) : undefined

export interface MemberSighting {
  /** The process instance that wrote the renewal: a restarted replica is a new instance of the same member. */
  readonly instance: string
  /** When its last renewal was seen here, on the monotonic clock. */
  readonly seenAt: number
}

export type MemberView = ReadonlyMap<string, MemberSighting>

export const emptyMemberView: MemberView = new Map()

export const memberSeen = (view: MemberView, member: string, instance: string, now: number): MemberView =>
  new Map(view).set(member, { instance, seenAt: now })

export const memberLeft = (view: MemberView, member: string): MemberView => {
  if (!view.has(member)) return view
  const next = new Map(view)
  next.delete(member)
  return next
}

/** A member key's change, as a watch delivers it. */
export interface MemberChange {
  readonly member: string
  readonly operation: "PUT" | "DEL" | "PURGE"
  readonly instance: string
  /** When the server stored it, on the server's clock. */
  readonly writtenAt: number
}

/**
 * Applies changes a watch delivered together, at monotonic `now`: each renewal dated by the server's clock,
 * but never more than `maxAgeMillis` old. The timestamps are wall clocks, of whichever server led the stream
 * at each write: the cap keeps a skew between them, or a step of one, from dating a member that renews on
 * schedule a lease old (`membershipAgeCap`).
 */
export const membersChanged = (
  view: MemberView,
  changes: ReadonlyArray<MemberChange>,
  now: number,
  maxAgeMillis: number
): MemberView => {
  let newest = -Infinity
  for (const change of changes) newest = Math.max(newest, change.writtenAt)
  let next = view
  for (const change of changes) {
    const age = Math.min(maxAgeMillis, Math.max(0, newest - change.writtenAt))
    next = change.operation === "PUT"
      ? memberSeen(next, change.member, change.instance, now - age)
      : memberLeft(next, change.member)
  }
  return next
}

/**
 * The oldest a batch may date a renewal: a renewal period short of the lease. A member renewing on
 * schedule writes again within that period, and the watch delivers that renewal before any written after
 * it, so it is seen before anyone's renewal could count it gone, however skewed the servers' clocks.
 */
export const membershipAgeCap = (lease: { readonly ttlMillis: number; readonly renewEveryMillis: number }): number =>
  Math.max(0, lease.ttlMillis - lease.renewEveryMillis)

/** The view without the members whose latest renewal was seen `ttlMillis` or more before the latest of all. */
export const expireMembers = (view: MemberView, ttlMillis: number): MemberView => {
  let latest = -Infinity
  for (const sighting of view.values()) latest = Math.max(latest, sighting.seenAt)
  let next: Map<string, MemberSighting> | undefined
  for (const [member, sighting] of view) {
    if (latest - sighting.seenAt < ttlMillis) continue
    next ??= new Map(view)
    next.delete(member)
  }
  return next ?? view
}

/** The members of `view`, sorted, so equal views give equal lists. */
export const memberNames = (view: MemberView): ReadonlyArray<string> => [...view.keys()].sort()

/** Whether two sorted member lists are the same set. */
export const sameMembers = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && a.every((member, index) => member === b[index])
