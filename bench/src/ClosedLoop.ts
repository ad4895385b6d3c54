/**
 * A closed-loop load generator: N requesters share one NATS connection and
 * each sends its next request as soon as the previous reply arrives, so the
 * offered load adapts to what the responder can answer and the latency
 * measured is the one a caller waiting on its token sees. A round runs for a
 * fixed time and then stops by itself; requests still in flight at the
 * deadline are awaited and counted.
 */
import type { NatsConnection } from "@nats-io/transport-node"
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
}

export const closedLoop = async (nc: NatsConnection, spec: LoadSpec): Promise<LoadRound> => {
  const latencies: Array<number> = []
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

  await Promise.all(Array.from({ length: spec.concurrency }, requester))
  const elapsedMillis = performance.now() - started
  return {
    requests: latencies.length,
    errors,
    firstError,
    elapsedMillis,
    throughput: (latencies.length / elapsedMillis) * 1000,
    latency: summarize(latencies)
  }
}
