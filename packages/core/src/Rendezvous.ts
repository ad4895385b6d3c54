/**
 * Which live member leads each provider: rendezvous (highest random weight)
 * hashing. Every member computes, for a provider, a weight per member from
 * the two names and picks the heaviest, so members that see the same set of
 * live members agree on every provider without talking to each other, the
 * providers spread evenly, and a member joining or leaving moves only the
 * providers it gains or had (about 1/n of them), never one between two other
 * members.
 *
 * The weight is a 32-bit FNV-1a hash of each name, combined and finished
 * with a murmur3-style mix; it is not secret and needs no crypto, only a
 * spread that does not depend on how names are chosen (UUIDs, pod names
 * with a counter, provider ids with a common prefix).
 */

/** FNV-1a over the UTF-16 code units of `text`: 32 bits. */
export const nameHash = (text: string): number => {
  let hash = 0x811c9dc5
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** murmur3's finaliser: every input bit moves every output bit. */
const mix = (value: number): number => {
  let h = value >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The weight of `member` for a provider whose `nameHash` is `providerHash`. */
const weight = (providerHash: number, memberHash: number): number =>
  mix(Math.imul(providerHash ^ 0x9e3779b9, 0x27d4eb2d) ^ memberHash)

/** The member that leads `provider` among `members`; undefined when there are none. Ties go to the smaller name. */
export const rendezvousOwner = (provider: string, members: ReadonlyArray<string>): string | undefined =>
  ownerAmong(nameHash(provider), members.map((member) => [member, nameHash(member)] as const))

const ownerAmong = (
  providerHash: number,
  members: ReadonlyArray<readonly [name: string, hash: number]>
): string | undefined => {
  let best: string | undefined
  let bestWeight = -1
  for (const [name, hash] of members) {
    const w = weight(providerHash, hash)
    if (w > bestWeight || (w === bestWeight && best !== undefined && name < best)) {
      best = name
      bestWeight = w
    }
  }
  return best
}

/** The providers `member` leads among `members`, each provider's name hashed once. */
export const ownedBy = (
  member: string,
  providers: Iterable<string>,
  members: ReadonlyArray<string>
): ReadonlyArray<string> => {
  if (!members.includes(member)) return []
  const hashed = members.map((name) => [name, nameHash(name)] as const)
  const owned: Array<string> = []
  for (const provider of providers) {
    if (ownerAmong(nameHash(provider), hashed) === member) owned.push(provider)
  }
  return owned
}
