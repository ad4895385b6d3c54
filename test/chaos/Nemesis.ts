/**
 * The nemesis: runs a Schedule against the deployment, the system lane and
 * the upstream lane side by side, recording each fault in the history with
 * when it began and when it was healed. Every fault heals itself before its
 * lane moves on (a paused process or node is resumed, a killed replica is
 * replaced, a killed node restarted, a deleted bucket made again), also when
 * a step of it fails. The mints the faults cause are paced across both lanes
 * (MintPacing.ts), so that the upstream's rate budget never has to delay a
 * recovery. A mid-mint fault reports a 401 for the current token and strikes
 * as the leader's call reaches the upstream.
 */
import { reportPayload, requestReply, sleep } from "@tokenbus/testing"
import { CRM, P44, REPLICA_REQUEST_TIMEOUT_MILLIS } from "./ChaosSettings.ts"
import type { Deployment } from "./Deployment.ts"
import { fingerprint, type History } from "./History.ts"
import type { MintPacing } from "./MintPacing.ts"
import type { Moment, NodeChoice, Planned, Schedule, SystemFault, UpstreamFault } from "./Schedule.ts"
import type { SeededRandom } from "./SeededRandom.ts"
import type { ChaosUpstreams } from "./Upstreams.ts"

/** A NATS server the nemesis can fail (test/support/NatsCluster.ts's nodes are these). */
export interface ChaosNode {
  readonly name: string
  kill(): Promise<void>
  restart(): Promise<void>
  pause(): Promise<void>
  resume(): Promise<void>
}

export interface NemesisContext {
  readonly deployment: Deployment
  readonly upstreams: ChaosUpstreams
  readonly nodes: ReadonlyArray<ChaosNode>
  /** The node leading a KV stream now, if known (on a cluster). */
  readonly streamLeader: (stream: string) => Promise<ChaosNode | undefined>
  readonly history: History
  readonly random: SeededRandom
  readonly pacing: MintPacing
}

type Outcome = { readonly target: string; readonly detail: string }

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Waiting for a mint to reach the upstream after a report, at most. */
const MINT_ARRIVAL_MILLIS = 6000

/**
 * For a mid-mint fault: reports a 401 for `provider`'s current token and
 * resolves once the leader's call reaches the upstream (or after a while if
 * none does); says which.
 */
const awaitMint = async (ctx: NemesisContext, provider: string, during: Moment): Promise<string> => {
  if (during === "now") return ""
  const { deployment } = ctx
  const token = await deployment.currentToken(provider)
  if (token === undefined) return ", struck at once (no current token to report)"
  const arrival = ctx.upstreams.nextCall(provider, MINT_ARRIVAL_MILLIS)
  const subject = `${deployment.prefix}.token.${provider}.unauthorized`
  void requestReply(deployment.wire, subject, reportPayload(token.version), 2 * REPLICA_REQUEST_TIMEOUT_MILLIS)
    .catch(() => undefined)
  return (await arrival)
    ? `, struck while ${provider}'s mint after a report of v${token.version} was in flight`
    : `, struck after no mint reached the upstream within ${MINT_ARRIVAL_MILLIS} ms of a report of v${token.version}`
}

/** A leader may be being elected when a fault wants it: wait a little for one before picking any replica. */
const LEADER_WAIT_MILLIS = 10_000

const leaderOrAny = async (ctx: NemesisContext, provider: string) => {
  const { deployment } = ctx
  const deadline = Date.now() + LEADER_WAIT_MILLIS
  while (deployment.leaderOf(provider) === undefined && Date.now() < deadline) await sleep(100)
  const leader = deployment.leaderOf(provider)
  const victim = leader ?? ctx.random.pick(deployment.running())
  const what = leader === undefined ? `no leader of ${provider} known; a replica` : `the leader of ${provider}`
  return { victim, what }
}

const killLeader = async (ctx: NemesisContext, fault: Extract<SystemFault, { kind: "kill-leader" }>) => {
  const { deployment } = ctx
  const moment = await awaitMint(ctx, fault.provider, fault.during)
  const { victim, what } = await leaderOrAny(ctx, fault.provider)
  await deployment.stopReplica(victim, "SIGKILL")
  await sleep(fault.replaceAfterMillis)
  const replacement = await deployment.addReplica()
  return { target: victim.name, detail: `${what} SIGKILLed${moment}; ${replacement.name} started` }
}

const pauseLeader = async (ctx: NemesisContext, fault: Extract<SystemFault, { kind: "pause-leader" }>) => {
  const { deployment } = ctx
  const moment = await awaitMint(ctx, fault.provider, fault.during)
  const { victim, what } = await leaderOrAny(ctx, fault.provider)
  deployment.signal(victim, "SIGSTOP")
  try {
    await sleep(fault.holdMillis)
  } finally {
    deployment.signal(victim, "SIGCONT")
  }
  return { target: victim.name, detail: `${what} SIGSTOPped for ${fault.holdMillis} ms${moment}` }
}

const scale = async (ctx: NemesisContext, fault: Extract<SystemFault, { kind: "scale" }>) => {
  const { deployment } = ctx
  if (fault.order === "down-up") {
    const victim = ctx.random.pick(deployment.running())
    await deployment.stopReplica(victim, "SIGTERM")
    await sleep(fault.holdMillis)
    const added = await deployment.addReplica()
    return { target: victim.name, detail: `SIGTERMed (exit ${victim.exit?.code}), then ${added.name} started` }
  }
  const added = await deployment.addReplica()
  await sleep(fault.holdMillis)
  const victim = ctx.random.pick(deployment.running())
  await deployment.stopReplica(victim, "SIGTERM")
  const detail = `${added.name} started, then ${victim.name} SIGTERMed (exit ${victim.exit?.code})`
  return { target: victim.name, detail }
}

/** The node `choice` names; a stream's leader is looked up when the fault strikes. */
const pickNode = async (ctx: NemesisContext, choice: NodeChoice): Promise<ChaosNode> => {
  const byIndex = (index: number) => {
    const node = ctx.nodes[index % ctx.nodes.length]
    if (node === undefined) throw new Error("no NATS node to fail")
    return node
  }
  if ("index" in choice) return byIndex(choice.index)
  const stream = `KV_${ctx.deployment.bucketName(choice.streamOf)}`
  return (await ctx.streamLeader(stream).catch(() => undefined)) ?? byIndex(0)
}

const natsFault = async (ctx: NemesisContext, fault: Extract<SystemFault, { kind: "kill-nats" | "pause-nats" }>) => {
  const moment = await awaitMint(ctx, fault.provider, fault.during)
  const node = await pickNode(ctx, fault.node)
  const which = "streamOf" in fault.node ? ` (leading the ${fault.node.streamOf} bucket)` : ""
  if (fault.kind === "kill-nats") {
    await node.kill()
    try {
      await sleep(fault.holdMillis)
    } finally {
      await node.restart()
    }
    return { target: node.name, detail: `killed${which} for ${fault.holdMillis} ms, restarted and healthy${moment}` }
  }
  await node.pause()
  try {
    await sleep(fault.holdMillis)
  } finally {
    await node.resume()
  }
  return { target: node.name, detail: `paused${which} for ${fault.holdMillis} ms${moment}` }
}

const bucketFault = async (ctx: NemesisContext, fault: Extract<SystemFault, { kind: "bucket" }>) => {
  const { deployment } = ctx
  await deployment.deleteBucket(fault.bucket)
  try {
    await sleep(fault.holdMillis)
  } finally {
    await recreate(deployment, fault.bucket)
  }
  return { target: deployment.bucketName(fault.bucket), detail: `deleted for ${fault.holdMillis} ms, created again` }
}

/** Creating a bucket again right after a delete can meet JetStream still removing it: a few tries. */
const recreate = async (deployment: Deployment, bucket: "tokens" | "leases") => {
  for (let attempt = 1;; attempt++) {
    try {
      return await deployment.createBucket(bucket)
    } catch (error) {
      if (attempt >= 10) throw error
      await sleep(500)
    }
  }
}

const runSystemFault = (ctx: NemesisContext, fault: SystemFault): Promise<Outcome> => {
  switch (fault.kind) {
    case "kill-leader":
      return killLeader(ctx, fault)
    case "pause-leader":
      return pauseLeader(ctx, fault)
    case "scale":
      return scale(ctx, fault)
    case "kill-nats":
    case "pause-nats":
      return natsFault(ctx, fault)
    case "bucket":
      return bucketFault(ctx, fault)
  }
}

const revoke = async (ctx: NemesisContext, provider: string): Promise<Outcome> => {
  const token = await ctx.deployment.currentToken(provider)
  if (token === undefined) return { target: provider, detail: "skipped: no current token came back" }
  ctx.upstreams.revoke(provider, token.accessToken)
  const event = { type: "revocation", at: Date.now(), provider, version: token.version } as const
  ctx.history.add({ ...event, token: fingerprint(token.accessToken) })
  return { target: provider, detail: `revoked version ${token.version}` }
}

const storm = async (ctx: NemesisContext, provider: string, reports: number): Promise<Outcome> => {
  const { deployment } = ctx
  const token = await deployment.currentToken(provider)
  if (token === undefined) return { target: provider, detail: "skipped: no current token came back" }
  const at = Date.now()
  const subject = `${deployment.prefix}.token.${provider}.unauthorized`
  const timeout = 2 * REPLICA_REQUEST_TIMEOUT_MILLIS + 2000
  const outcomes = await Promise.all(Array.from({ length: reports }, () =>
    requestReply(deployment.wire, subject, reportPayload(token.version), timeout).then(
      (reply) => (reply.ok ? `v${reply.token.version}` : `error ${reply.error._tag}`),
      (error: unknown) => `error ${errorText(error)}`
    )))
  const count = (wanted: boolean) => {
    const counts: Record<string, number> = {}
    for (const outcome of outcomes) if (outcome.startsWith("v") === wanted) counts[outcome] = (counts[outcome] ?? 0) + 1
    return counts
  }
  const event = { type: "storm", at, end: Date.now(), provider, version: token.version, reports } as const
  ctx.history.add({ ...event, replies: count(true), errors: count(false) })
  return { target: provider, detail: `${reports} reports of version ${token.version}: ${JSON.stringify(count(true))}` }
}

const runUpstreamFault = (ctx: NemesisContext, fault: UpstreamFault): Promise<Outcome> =>
  fault.kind === "revoke" ? revoke(ctx, fault.provider) : storm(ctx, fault.provider, fault.reports)

/** The providers whose mints a fault may cause, and how many. */
const mintsCaused = (fault: SystemFault | UpstreamFault): { providers: ReadonlyArray<string>; mints: number } => {
  switch (fault.kind) {
    case "revoke":
    case "storm":
      return { providers: [fault.provider], mints: 1 }
    case "bucket":
      return fault.bucket === "tokens" ? { providers: [P44, CRM], mints: 1 } : { providers: [], mints: 0 }
    case "scale":
      return { providers: [], mints: 0 }
    default:
      // Interrupted, the mint may be made again by the next leader.
      return fault.during === "mid-mint" ? { providers: [fault.provider], mints: 2 } : { providers: [], mints: 0 }
  }
}

/** Runs one lane's faults in order; each waits for its planned time, the previous fault and the pacing. */
const runLane = async <F extends SystemFault | UpstreamFault>(
  ctx: NemesisContext,
  lane: ReadonlyArray<Planned<F>>,
  timing: { readonly start: number; readonly end: number },
  run: (fault: F) => Promise<Outcome>
): Promise<void> => {
  for (const { atMillis, fault } of lane) {
    const due = timing.start + atMillis
    if (due > Date.now()) await sleep(due - Date.now())
    if (Date.now() >= timing.end) return
    const { mints, providers } = mintsCaused(fault)
    if (providers.length > 0 && !(await ctx.pacing.reserve(providers, mints, timing.end))) continue
    const at = Date.now()
    const outcome = await run(fault).catch((error: unknown) => ({ target: "?", detail: `failed: ${errorText(error)}` }))
    ctx.history.add({ type: "fault", at, end: Date.now(), kind: fault.kind, ...outcome })
  }
}

/** Runs the schedule until `faultMillis` from now; resolves once every fault is healed, with that moment. */
export const runNemesis = async (ctx: NemesisContext, schedule: Schedule, faultMillis: number): Promise<number> => {
  const start = Date.now()
  const timing = { start, end: start + faultMillis }
  await Promise.all([
    runLane(ctx, schedule.system, timing, (fault) => runSystemFault(ctx, fault)),
    runLane(ctx, schedule.upstream, timing, (fault) => runUpstreamFault(ctx, fault))
  ])
  return Date.now()
}
