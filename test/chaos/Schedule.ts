/**
 * The nemesis's plan, drawn from the run's seed before anything starts, so a
 * seed replays the same faults in the same order. Two lanes run side by side:
 * the system lane (replica processes, NATS nodes, KV buckets), one fault at a
 * time, each healed before the next; and the upstream lane (revocations and
 * 401 storms), so a revocation can land in the middle of a failover. Times
 * are "not before" offsets from the start: a fault waits for the one before
 * it in its lane to be healed.
 */
import { CRM, LEASE, P44 } from "./ChaosSettings.ts"
import type { SeededRandom } from "./SeededRandom.ts"

/**
 * When a fault strikes: at once, or while a mint of `provider` is in flight
 * (the nemesis reports a 401 and strikes as the leader's call reaches the
 * upstream), which is when a lost answer or a failed commit costs most.
 */
export type Moment = "now" | "mid-mint"

/** Which NATS node: one by index, or whichever leads a KV bucket's stream when the fault strikes. */
export type NodeChoice = { readonly index: number } | { readonly streamOf: "tokens" | "leases" }

export type SystemFault =
  | {
    readonly kind: "kill-leader"
    readonly provider: string
    readonly during: Moment
    readonly replaceAfterMillis: number
  }
  | { readonly kind: "pause-leader"; readonly provider: string; readonly during: Moment; readonly holdMillis: number }
  | { readonly kind: "scale"; readonly order: "down-up" | "up-down"; readonly holdMillis: number }
  | {
    readonly kind: "kill-nats" | "pause-nats"
    readonly node: NodeChoice
    readonly provider: string
    readonly during: Moment
    readonly holdMillis: number
  }
  | { readonly kind: "bucket"; readonly bucket: "tokens" | "leases"; readonly holdMillis: number }

export type UpstreamFault =
  | { readonly kind: "revoke"; readonly provider: string }
  | { readonly kind: "storm"; readonly provider: string; readonly reports: number }

export interface Planned<F> {
  /** Not before this offset from the start of the faults. */
  readonly atMillis: number
  readonly fault: F
}

export interface Schedule {
  readonly system: ReadonlyArray<Planned<SystemFault>>
  readonly upstream: ReadonlyArray<Planned<UpstreamFault>>
}

export interface ScheduleOptions {
  readonly faultMillis: number
  /** NATS nodes that can be killed or paused (none on a single local server). */
  readonly natsNodes: number
  /** Each provider's upstream-lane faults at least this far apart. */
  readonly spacingMillis: number
}

/** Faults begin once the fleet has run a little. */
const FIRST_FAULT_MILLIS = 3000

const nodeChoice = (random: SeededRandom, natsNodes: number): NodeChoice =>
  random.next() < 0.5
    ? { streamOf: random.pick(["tokens", "leases"] as const) }
    : { index: random.int(0, natsNodes - 1) }

const systemFault = (random: SeededRandom, natsNodes: number): SystemFault => {
  const kinds: Array<SystemFault["kind"]> = ["kill-leader", "kill-leader", "pause-leader", "pause-leader", "scale",
    "bucket"]
  if (natsNodes > 0) kinds.push("kill-nats", "kill-nats", "pause-nats", "pause-nats")
  const provider = random.pick([P44, CRM])
  const during: Moment = random.next() < 0.4 ? "mid-mint" : "now"
  const kind = random.pick(kinds)
  switch (kind) {
    case "kill-leader":
      return { kind, provider, during, replaceAfterMillis: random.int(500, 4000) }
    case "pause-leader":
      // Past the lease: the lock lapses while the leader sleeps, and it wakes into a newer leader's fence.
      return { kind, provider, during, holdMillis: LEASE.ttlMillis + random.int(500, 3000) }
    case "scale":
      return { kind, order: random.pick(["down-up", "up-down"] as const), holdMillis: random.int(1000, 4000) }
    case "kill-nats":
      return { kind, node: nodeChoice(random, natsNodes), provider, during, holdMillis: random.int(2000, 8000) }
    case "pause-nats":
      return { kind, node: nodeChoice(random, natsNodes), provider, during, holdMillis: random.int(2000, 6000) }
    case "bucket":
      return { kind, bucket: random.pick(["tokens", "leases"] as const), holdMillis: random.int(300, 2500) }
  }
}

/** A rough length of a fault, to spread the plan; the nemesis waits for the real one. */
const expectedMillis = (fault: SystemFault): number => {
  switch (fault.kind) {
    case "kill-leader":
      return fault.replaceAfterMillis + 3000
    case "scale":
      return fault.holdMillis + 3000
    case "kill-nats":
      return fault.holdMillis + 4000
    default:
      return fault.holdMillis
  }
}

const systemLane = (random: SeededRandom, options: ScheduleOptions): Array<Planned<SystemFault>> => {
  const lane: Array<Planned<SystemFault>> = []
  for (let at = FIRST_FAULT_MILLIS; at < options.faultMillis;) {
    const fault = systemFault(random, options.natsNodes)
    lane.push({ atMillis: at, fault })
    at += expectedMillis(fault) + random.int(2000, 6000)
  }
  return lane
}

/** Revocations and storms, alternating providers at random, each provider's at least `spacingMillis` apart. */
const upstreamLane = (random: SeededRandom, options: ScheduleOptions): Array<Planned<UpstreamFault>> => {
  const lane: Array<Planned<UpstreamFault>> = []
  const last = new Map<string, number>()
  for (let at = FIRST_FAULT_MILLIS + random.int(0, 4000); at < options.faultMillis; at += random.int(5000, 10_000)) {
    const ready = [P44, CRM].filter((provider) => at - (last.get(provider) ?? -Infinity) >= options.spacingMillis)
    if (ready.length === 0) continue
    const provider = random.pick(ready)
    last.set(provider, at)
    const fault: UpstreamFault = random.next() < 0.65
      ? { kind: "revoke", provider }
      : { kind: "storm", provider, reports: random.int(20, 60) }
    lane.push({ atMillis: at, fault })
  }
  return lane
}

export const planSchedule = (random: SeededRandom, options: ScheduleOptions): Schedule => ({
  system: systemLane(random.fork("system"), options),
  upstream: upstreamLane(random.fork("upstream"), options)
})

const seconds = (millis: number) => (millis / 1000).toFixed(1)

/** One line per planned fault, for the run's output. */
export const describeSchedule = (schedule: Schedule): Array<string> => [
  ...schedule.system.map(({ atMillis, fault }) => `system   +${seconds(atMillis)}s ${JSON.stringify(fault)}`),
  ...schedule.upstream.map(({ atMillis, fault }) => `upstream +${seconds(atMillis)}s ${JSON.stringify(fault)}`)
]
