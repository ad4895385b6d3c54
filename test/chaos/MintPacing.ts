/**
 * How the nemesis keeps the mints it causes within what the upstream's rate
 * budget absorbs at once: before a mint-causing fault it reserves that
 * fault's mints for the providers concerned, waiting while one of them had a
 * fault too recently or would exceed its mints per window. Both lanes
 * reserve through one pacing, so a revocation never follows a lost tokens
 * bucket or an interrupted mint of the same provider too closely.
 */
import { sleep } from "@tokenbus/testing"

export interface PacingLimits {
  readonly spacingMillis: number
  readonly mints: number
  readonly windowMillis: number
}

export interface MintPacing {
  /**
   * Waits until every provider in `providers` may take `mints` more, then
   * takes them. Resolves false, taking nothing, if that moment would come
   * after `deadline`.
   */
  readonly reserve: (providers: ReadonlyArray<string>, mints: number, deadline: number) => Promise<boolean>
}

export const makeMintPacing = (limits: PacingLimits): MintPacing => {
  const taken = new Map<string, Array<{ readonly at: number; readonly mints: number }>>()

  /** The earliest moment `provider` may take `mints` more, from what it took so far. */
  const readyAt = (provider: string, mints: number): number => {
    const past = taken.get(provider) ?? []
    const last = past.at(-1)
    let at = last === undefined ? 0 : last.at + limits.spacingMillis
    // The oldest reservations leave the window one by one until the new mints fit.
    for (let index = 0; index <= past.length; index++) {
      const inWindow = past.slice(index).filter((entry) => entry.at > at - limits.windowMillis)
      if (inWindow.reduce((sum, entry) => sum + entry.mints, 0) + mints <= limits.mints) break
      const leaving = past[index]
      if (leaving !== undefined) at = Math.max(at, leaving.at + limits.windowMillis)
    }
    return at
  }

  const reserve = async (providers: ReadonlyArray<string>, mints: number, deadline: number): Promise<boolean> => {
    while (true) {
      const ready = Math.max(...providers.map((provider) => readyAt(provider, mints)))
      if (ready <= Date.now()) break
      if (ready > deadline) return false
      await sleep(ready - Date.now())
    }
    const at = Date.now()
    for (const provider of providers) taken.set(provider, [...(taken.get(provider) ?? []), { at, mints }])
    return true
  }

  return { reserve }
}
