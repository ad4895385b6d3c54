/**
 * The chaos suite's only source of randomness: a small seeded generator
 * (mulberry32), so a seed printed by a failing run replays the same nemesis
 * schedule, the same fleet layout and the same choices of victims.
 */

export interface SeededRandom {
  readonly seed: number
  /** A float in [0, 1). */
  readonly next: () => number
  /** An integer in [min, max]. */
  readonly int: (min: number, max: number) => number
  /** One element of a non-empty array. */
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  /** `items` in a shuffled order (a copy). */
  readonly shuffle: <A>(items: ReadonlyArray<A>) => Array<A>
  /** An independent generator for one part of the run, so adding a draw in one part does not move the others. */
  readonly fork: (label: string) => SeededRandom
}

/** A random 32-bit seed, for the run that is not the fixed one. */
export const freshSeed = (): number => Math.floor(Math.random() * 0x1_0000_0000) >>> 0

const hashLabel = (seed: number, label: string): number => {
  let hash = seed ^ 0x9e3779b9
  for (let index = 0; index < label.length; index++) hash = Math.imul(hash ^ label.charCodeAt(index), 0x01000193)
  return hash >>> 0
}

export const seededRandom = (seed: number): SeededRandom => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => {
    if (items.length === 0) throw new Error("pick from an empty array")
    return items[int(0, items.length - 1)] as A
  }
  const shuffle = <A>(items: ReadonlyArray<A>): Array<A> => {
    const copy = [...items]
    for (let index = copy.length - 1; index > 0; index--) {
      const other = int(0, index)
      const held = copy[index] as A
      copy[index] = copy[other] as A
      copy[other] = held
    }
    return copy
  }
  return { seed, next, int, pick, shuffle, fork: (label) => seededRandom(hashLabel(seed, label)) }
}
