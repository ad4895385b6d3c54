/**
 * One chaos run, start to verdict: the upstreams behind their recording
 * proxies, the replicas on the given NATS (its buckets at the wanted
 * replication factor), the fleet of consumers, the nemesis playing the
 * seed's schedule, a settling period with every fault healed, then the
 * checker over the recorded history and the report. Everything it started
 * is stopped before it returns, also when it fails.
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { NatsConnection } from "@nats-io/transport-node"
import { waitUntil } from "@tokenbus/testing"
import {
  CRM,
  CRM_RATE_LIMIT,
  MINT_PACING,
  P44,
  P44_RATE_LIMIT,
  PROVIDERS,
  type RunSettings,
  UPSTREAM_FAULT_SPACING_MILLIS
} from "./ChaosSettings.ts"
import type { CheckInput, Verdict } from "./CheckInput.ts"
import { checkHistory } from "./Checker.ts"
import { Deployment } from "./Deployment.ts"
import { Fleet } from "./Fleet.ts"
import { History } from "./History.ts"
import { makeMintPacing } from "./MintPacing.ts"
import { type ChaosNode, runNemesis } from "./Nemesis.ts"
import { renderReport } from "./Report.ts"
import { describeSchedule, planSchedule } from "./Schedule.ts"
import { seededRandom } from "./SeededRandom.ts"
import { type ChaosUpstreams, startUpstreams } from "./Upstreams.ts"

/** The NATS a run is played on. */
export interface ChaosTarget {
  readonly urls: ReadonlyArray<string>
  /** Nodes the nemesis may kill and pause; none on a single server. */
  readonly nodes: ReadonlyArray<ChaosNode>
  /** The node leading `stream`, asked through `connection`; undefined on a single server. */
  readonly streamLeader?: (connection: NatsConnection, stream: string) => Promise<ChaosNode | undefined>
  readonly streamReplicas: number
  readonly description: string
}

export interface ChaosResult {
  readonly verdicts: ReadonlyArray<Verdict>
  /** "invariant: violation", one per violation. */
  readonly violations: ReadonlyArray<string>
  readonly report: string
}

/** Longest a fleet may outlive its planned end, should the last fault take long to heal. */
const OVERRUN_MILLIS = 120_000

const log = (line: string) => console.log(`[chaos] ${line}`)

const leaks = (deployment: Deployment, upstreams: ChaosUpstreams): Array<string> => {
  const secrets = upstreams.secrets()
  return deployment.replicas.flatMap((replica) => {
    const output = replica.output
    return secrets.filter(([, secret]) => output.includes(secret)).map(([what]) => `${replica.name} leaked ${what}`)
  })
}

const startDeployment = async (target: ChaosTarget, upstreams: ChaosUpstreams, history: History, replicas: number) => {
  const deployment = new Deployment({ urls: target.urls, streamReplicas: target.streamReplicas, upstreams, history })
  await deployment.connect()
  await Promise.all(Array.from({ length: replicas }, () => deployment.addReplica()))
  const firstTokens = async () =>
    (await Promise.all(PROVIDERS.map((provider) => deployment.currentToken(provider)))).every((t) => t !== undefined)
  await waitUntil(firstTokens, 30_000, "no first token for every provider", 250)
  return deployment
}

/** The fleet runs and the nemesis plays the schedule; resolves with when the last fault was healed. */
const play = async (settings: RunSettings, target: ChaosTarget, deployment: Deployment, upstreams: ChaosUpstreams,
  history: History) =>
{
  const random = seededRandom(settings.seed)
  const schedule = planSchedule(random.fork("schedule"), {
    faultMillis: settings.faultMillis,
    natsNodes: target.nodes.length,
    spacingMillis: UPSTREAM_FAULT_SPACING_MILLIS
  })
  for (const line of describeSchedule(schedule)) log(line)
  const fleet = await Fleet.start({
    urls: target.urls,
    prefix: deployment.prefix,
    count: settings.consumers,
    cadenceMillis: settings.cadenceMillis,
    random: random.fork("fleet"),
    history,
    resourceUrl: upstreams.resourceUrl,
    replicasUp: () => deployment.running().length
  })
  const start = Date.now()
  let until = start + settings.faultMillis + settings.settleMillis + OVERRUN_MILLIS
  try {
    const running = fleet.run(() => until)
    const streamLeader = (stream: string) =>
      target.streamLeader?.(deployment.wire, stream) ?? Promise.resolve(undefined)
    const nemesis = { deployment, upstreams, nodes: target.nodes, streamLeader, history }
    const context = { ...nemesis, random: random.fork("victims"), pacing: makeMintPacing(MINT_PACING) }
    const healedAt = await runNemesis(context, schedule, settings.faultMillis)
    log(`every fault healed after ${((healedAt - start) / 1000).toFixed(1)} s; settling`)
    until = Math.min(until, healedAt + settings.settleMillis)
    await running
    return { start, healedAt, end: Date.now() }
  } finally {
    await fleet.close()
  }
}

export const runChaos = async (settings: RunSettings, target: ChaosTarget): Promise<ChaosResult> => {
  log(`seed ${settings.seed} (${settings.label}) on ${target.description}`)
  const history = new History()
  const upstreams = await startUpstreams(history)
  let deployment: Deployment | undefined
  try {
    deployment = await startDeployment(target, upstreams, history, settings.replicas)
    const scaledByTest = await deployment.ensureReplication()
    const atStart = { when: "start", ...(await deployment.bucketReplicas()) }
    const { start, healedAt, end } = await play(settings, target, deployment, upstreams, history)
    const atEnd = { when: "end", ...(await deployment.bucketReplicas()) }
    deployment.recordLogs()
    const counters = upstreams.counters()
    const check: CheckInput = {
      history,
      limits: { [P44]: P44_RATE_LIMIT, [CRM]: CRM_RATE_LIMIT },
      rateLimitedBySim: { [P44]: counters[P44].rateLimited },
      refreshReuse: { reuseDetected: counters[CRM].refreshReuseDetected, invalidGrant: counters[CRM].invalidGrant },
      bucketReplicas: [atStart, atEnd],
      wantedReplicas: target.streamReplicas,
      scaledByTest,
      leaks: leaks(deployment, upstreams),
      healedAt,
      start,
      end
    }
    const verdicts = checkHistory(check)
    const historyPath = join(tmpdir(), `tokenbus-chaos-${settings.seed}-${new Date(start).toISOString()}.jsonl`)
    await history.write(historyPath)
    const report = renderReport({ settings, check, verdicts, counters, end, natsDescription: target.description,
      historyPath })
    const violations = verdicts.flatMap((verdict) => verdict.violations.map((v) => `${verdict.invariant}: ${v}`))
    return { verdicts, violations, report }
  } finally {
    await deployment?.stop()
    await upstreams.close()
  }
}
