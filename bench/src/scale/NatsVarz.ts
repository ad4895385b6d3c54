/**
 * The NATS server's own counters, from its monitor's `/varz` on 127.0.0.1:
 * the scale scenario's "NATS messages in per second" is the delta of
 * `in_msgs` (every message any client published, the replicas' lease
 * renewals and KV writes included) over the idle window.
 */

export interface Varz {
  readonly inMsgs: number
  readonly outMsgs: number
  /** performance.now() when read. */
  readonly at: number
}

export const readVarz = async (monitorPort: number): Promise<Varz> => {
  const response = await fetch(`http://127.0.0.1:${monitorPort}/varz`)
  const body = (await response.json()) as { readonly in_msgs: number; readonly out_msgs: number }
  return { inMsgs: body.in_msgs, outMsgs: body.out_msgs, at: performance.now() }
}

/** Messages in per second between two readings. */
export const inMsgsPerSecond = (from: Varz, to: Varz): number => (to.inMsgs - from.inMsgs) / ((to.at - from.at) / 1000)
