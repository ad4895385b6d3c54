/**
 * The in-process controls every simulator offers alike: reading and zeroing
 * its counters, and hanging its token endpoints. Counters are handed out as
 * copies, so a snapshot a test holds does not change under it.
 */

export interface SimControls<Counters> {
  readonly counters: () => Counters
  readonly resetCounters: () => void
  readonly setHang: (hang: boolean) => void
}

export const simControls = <Counters extends object>(
  state: { readonly counters: Counters; hang: boolean },
  zeroCounters: () => Counters
): SimControls<Counters> => ({
  counters: () => ({ ...state.counters }),
  resetCounters: () => void Object.assign(state.counters, zeroCounters()),
  setHang: (hang) => void (state.hang = hang)
})
