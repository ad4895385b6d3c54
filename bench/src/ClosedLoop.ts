/**
 * A closed-loop load generator: N requesters share one NATS connection and
 * each sends its next request as soon as the previous reply arrives, so the
 * offered load adapts to what the responder can answer and the latency
 * measured is the one a caller waiting on its token sees. A round runs for a
 * fixed time and then stops by itself; requests still in flight at the
 * deadline are awaited and counted.
 */
import type { NatsConnection } from "@nats-io/transport-node"
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import { summarize, type Summary } from "./Stats.ts"

export interface LoadSpec {
  readonly subject: string
  readonly payload: string
  readonly concurrency: number
  readonly durationMillis: number
  readonly timeoutMillis?: number
}

export interface LoadRound {
  readonly requests: number
  readonly errors: number
  readonly firstError: string | undefined
  readonly elapsedMillis: number
  /** Replies per second over the round. */
  readonly throughput: number
  /** Milliseconds from send to reply. */
  readonly latency: Summary
  /**
   * How the load generator itself fared: a stalled event loop delays the
   * replies it reads, which shows up as latency of whatever it measures.
   */
  readonly generator: {
    readonly eventLoopDelayP99Millis: number
    readonly eventLoopDelayMaxMillis: number
    readonly gcPauses: number
    readonly gcPauseTotalMillis: number
    readonly gcPauseMaxMillis: number
  }
}

/** Watches the event loop's delay and the garbage collector's pauses until `stop` is called. */
const watchGenerator = () => {
  const delay = monitorEventLoopDelay({ resolution: 1 })
  const pauses: Array<number> = []
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration)
  })
  delay.enable()
  observer.observe({ entryTypes: ["gc"] })
  return () => {
    delay.disable()
    observer.disconnect()
    return {
      eventLoopDelayP99Millis: delay.percentile(99) / 1e6,
      eventLoopDelayMaxMillis: delay.max / 1e6,
      gcPauses: pauses.length,
      gcPauseTotalMillis: pauses.reduce((sum, pause) => sum + pause, 0),
      gcPauseMaxMillis: Math.max(0, ...pauses)
    }
  }
}

/**
 * Latencies in a preallocated Float64Array: a plain array of 150,000 numbers
 * grows by copying and ends up in the old generation, and the full
 * collections that follow pause the load generator for tens of milliseconds.
 */
class Samples {
  #values = new Float64Array(1 << 18)
  count = 0

  push(value: number): void {
    if (this.count === this.#values.length) {
      const larger = new Float64Array(this.#values.length * 2)
      larger.set(this.#values)
      this.#values = larger
    }
    this.#values[this.count++] = value
  }

  values(): Float64Array {
    return this.#values.subarray(0, this.count)
  }
}

export const closedLoop = async (nc: NatsConnection, spec: LoadSpec): Promise<LoadRound> => {
  const latencies = new Samples()
  let errors = 0
  let firstError: string | undefined
  const started = performance.now()
  const deadline = started + spec.durationMillis
  const options = { timeout: spec.timeoutMillis ?? 5000 }

  const requester = async () => {
    while (performance.now() < deadline) {
      const sentAt = performance.now()
      try {
        await nc.request(spec.subject, spec.payload, options)
        latencies.push(performance.now() - sentAt)
      } catch (error) {
        errors++
        firstError ??= error instanceof Error ? error.message : String(error)
      }
    }
  }

  const stopWatching = watchGenerator()
  await Promise.all(Array.from({ length: spec.concurrency }, requester))
  const elapsedMillis = performance.now() - started
  const generator = stopWatching()
  return {
    requests: latencies.count,
    errors,
    firstError,
    elapsedMillis,
    throughput: (latencies.count / elapsedMillis) * 1000,
    latency: summarize(latencies.values()),
    generator
  }
}
