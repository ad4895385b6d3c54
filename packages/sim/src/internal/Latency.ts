/**
 * A simulator's answer delay (`latencyMs`, real milliseconds). Pending answers
 * are tracked so that closing the simulator cancels them instead of letting
 * them fire into a closed server after the test has moved on.
 */

export interface Latency {
  /** Runs `answer` after the configured delay, or at once when it is 0. */
  readonly delay: (answer: () => void) => void
  readonly cancelAll: () => void
}

export const makeLatency = (latencyMs: number): Latency => {
  const timers = new Set<ReturnType<typeof setTimeout>>()

  const delay = (answer: () => void): void => {
    if (latencyMs <= 0) return answer()
    const timer = setTimeout(() => {
      timers.delete(timer)
      answer()
    }, latencyMs)
    timers.add(timer)
  }

  const cancelAll = (): void => {
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
  }

  return { delay, cancelAll }
}
