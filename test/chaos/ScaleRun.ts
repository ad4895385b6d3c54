/**
 * The scale run: many providers (ScaleUpstream.ts) on replicas at the
 * service's default lease, the replica count scaled up and down and leaders
 * SIGKILLed on a seeded plan (ScaleSchedule.ts), every provider's leaders,
 * commits and upstream calls recorded. Checked for every provider: no two
 * replicas elected or committing in one term, one token per version, its
 * rolling rate budget, no leaderless gap beyond the TTL + 1 s once the
 * cluster is up (every provider led and holding a token; the gaps of the
 * start, while the first replicas join and hand providers on, are printed
 * as a figure), and at the
 * end exactly one live replica leading it, the one rendezvous hashing picks
 * among the live members in the leases bucket, named in its state's fence,
 * and its token served.
 */
import { writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Kvm } from "@nats-io/kv"
import { defaultLeaseConfig, memberKeyPrefix, rendezvousOwner } from "@tokenbus/core"
import { logMsg, type ReplicaProcess, sleep, waitUntil } from "@tokenbus/testing"
import type { ChaosTarget } from "./ChaosRun.ts"
import { P44_RATE_LIMIT } from "./ChaosSettings.ts"
import { type CheckInput, offset, type Verdict } from "./CheckInput.ts"
import { Deployment } from "./Deployment.ts"
import { History } from "./History.ts"
import { leaderGaps } from "./LeaderInvariants.ts"
import { describeScaleSteps, planScaleSteps, type ScaleStep } from "./ScaleSchedule.ts"
import { type ScaleUpstream, startScaleUpstream } from "./ScaleUpstream.ts"
import { seededRandom } from "./SeededRandom.ts"
import { oneCommitterPerTerm, oneTokenPerVersion } from "./TokenInvariants.ts"
import { rateLimit } from "./UpstreamInvariants.ts"

export interface ScaleSettings {
  readonly seed: number
  readonly providers: number
  readonly startReplicas: number
  readonly minReplicas: number
  readonly maxReplicas: number
  readonly steps: number
  readonly gapMillis: readonly [number, number]
}

/** The CI mode's scale run: 150 providers, 3 replicas at the start, 2 to 5 while it runs, 12 steps (~50 s). */
export const ciScaleRun = (seed: number): ScaleSettings => ({
  seed,
  providers: 150,
  startReplicas: 3,
  minReplicas: 2,
  maxReplicas: 5,
  steps: 12,
  gapMillis: [2500, 5000]
})

const log = (line: string) => console.log(`[chaos] ${line}`)

/** How long after the last step the leaders must have settled where rendezvous hashing puts them. */
const SETTLE_MILLIS = 10_000

const memberId = (replica: ReplicaProcess): string | undefined => {
  const line = replica.lines(logMsg("joined the cluster")).at(-1)
  return line?.replica
}

const runStep = async (deployment: Deployment, ids: ReadonlyArray<string>, step: ScaleStep) => {
  const random = (items: ReadonlyArray<ReplicaProcess>, pick: number) => items[pick % items.length]!
  if (step.kind === "scale-up") {
    const added = await Promise.all(Array.from({ length: step.count }, () => deployment.addReplica()))
    return { target: added.map((r) => r.name).join(", "), detail: `${step.count} started` }
  }
  if (step.kind === "scale-down") {
    const victim = random(deployment.running(), deployment.replicas.length)
    await deployment.stopReplica(victim, "SIGTERM")
    return { target: victim.name, detail: `SIGTERMed (exit ${victim.exit?.code})` }
  }
  const provider = ids[step.pick % ids.length]!
  const victim = deployment.leaderOf(provider) ?? random(deployment.running(), step.pick)
  await deployment.stopReplica(victim, "SIGKILL")
  return { target: victim.name, detail: `the leader of ${provider} SIGKILLed` }
}

/** What the deployment looks like at the end, as problems: each provider's leader, fence and token. */
const ownershipProblems = async (deployment: Deployment, ids: ReadonlyArray<string>) => {
  const kvm = new Kvm(deployment.wire)
  const leases = await kvm.open(deployment.bucketName("leases"))
  const members: Array<string> = []
  for await (const key of await leases.keys(`${memberKeyPrefix}>`)) members.push(key.slice(memberKeyPrefix.length))
  members.sort()
  const problems: Array<string> = []
  const alive = deployment.alive()
  const aliveIds = alive.map(memberId).sort()
  if (members.join() !== aliveIds.join()) problems.push(`members in KV [${members}] but alive [${aliveIds}]`)
  const tokens = await kvm.open(deployment.bucketName("tokens"))
  for (const provider of ids) {
    const owner = rendezvousOwner(provider, members)
    const leaders = alive.filter((replica) => {
      const lines = replica.logs.filter((line) => line.provider === provider)
      return lines.findLast((line) => line.msg === "became leader" || line.msg === "stepped down")?.msg ===
        "became leader"
    })
    const named = leaders.map((r) => `${r.name} (${memberId(r)})`).join(", ") || "nobody"
    if (leaders.length !== 1 || memberId(leaders[0]!) !== owner) {
      problems.push(`${provider}: led by ${named}; rendezvous picks ${owner}`)
      continue
    }
    const fence = (await tokens.get(provider))?.json<{ fence?: { holder?: string } }>().fence
    if (fence?.holder !== owner) problems.push(`${provider}: its state's fence names ${fence?.holder}, not ${owner}`)
  }
  return { members, problems }
}

/** Every provider answers a `get` with a token. */
const unserved = async (deployment: Deployment, ids: ReadonlyArray<string>) => {
  const missing: Array<string> = []
  for (let from = 0; from < ids.length; from += 25) {
    const batch = ids.slice(from, from + 25)
    const tokens = await Promise.all(batch.map((provider) => deployment.currentToken(provider)))
    batch.forEach((provider, index) => tokens[index] === undefined && missing.push(provider))
  }
  return missing
}

const verdict = (invariant: string, observed: string, bound: string, violations: Array<string>): Verdict => ({
  invariant,
  observed,
  bound,
  violations
})

const rateLimits = (input: CheckInput, ids: ReadonlyArray<string>): Verdict => {
  const verdicts = ids.map((provider) => rateLimit(input, provider))
  const calls = input.history.of("upstream").length
  return verdict(
    `upstream rate limit: each of ${ids.length} providers`,
    `${calls} calls in all; ${verdicts.filter((v) => v.violations.length > 0).length} providers over`,
    verdicts[0]?.bound ?? "",
    verdicts.flatMap((v, index) => v.violations.map((violation) => `${ids[index]}: ${violation}`))
  )
}

const render = (settings: ScaleSettings, input: CheckInput, verdicts: ReadonlyArray<Verdict>, figures: string) =>
  [
    "",
    `### chaos scale run: seed ${settings.seed}, ${settings.providers} providers, ` +
    `${((input.end - input.start) / 1000).toFixed(0)} s`,
    "| invariant | observed | bound | result |",
    "|---|---|---|---|",
    ...verdicts.map((v) =>
      `| ${v.invariant} | ${v.observed} | ${v.bound} | ${v.violations.length === 0 ? "ok" : "VIOLATED"} |`
    ),
    figures,
    ...verdicts.flatMap((v) => v.violations.slice(0, 20).map((violation) => `- ${v.invariant}: ${violation}`))
  ].join("\n")

const play = async (settings: ScaleSettings, deployment: Deployment, upstream: ScaleUpstream, history: History) => {
  const plan = planScaleSteps(seededRandom(settings.seed).fork("scale"), settings)
  for (const line of describeScaleSteps(plan)) log(line)
  const start = Date.now()
  for (const { atMillis, step } of plan) {
    if (start + atMillis > Date.now()) await sleep(start + atMillis - Date.now())
    const at = Date.now()
    const outcome = await runStep(deployment, upstream.ids, step).catch((error: unknown) => ({
      target: "?",
      detail: `failed: ${error instanceof Error ? error.message : String(error)}`
    }))
    history.add({ type: "fault", at, end: Date.now(), kind: step.kind, ...outcome })
  }
  return { start, healedAt: Date.now() }
}

export const runScaleChaos = async (settings: ScaleSettings, target: ChaosTarget) => {
  log(`scale run: seed ${settings.seed}, ${settings.providers} providers on ${target.description}`)
  const history = new History()
  const upstream = await startScaleUpstream(history, settings.providers)
  const options = { urls: target.urls, streamReplicas: target.streamReplicas, upstreams: upstream, history }
  const deployment = new Deployment({ ...options, lease: null })
  const logsPath = join(tmpdir(), `tokenbus-chaos-scale-${settings.seed}-${new Date().toISOString()}.logs`)
  try {
    await deployment.connect()
    await Promise.all(Array.from({ length: settings.startReplicas }, () => deployment.addReplica()))
    await deployment.ensureReplication()
    // Up once every provider serves a token: a leader can commit its first one and lose its lease before it
    // logs the commit, so the logs alone do not tell.
    const served = new Set<string>()
    const firstTokens = async () => {
      const waiting = upstream.ids.filter((id) => !served.has(id) && deployment.replicas.some((r) => r.hasLog(led(id))))
      for (const provider of waiting.slice(0, 25)) if (await deployment.currentToken(provider)) served.add(provider)
      return served.size === upstream.ids.length
    }
    await waitUntil(firstTokens, 60_000, "not every provider got its first token", 250).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error)
      throw new Error(`${message}: ${startTrouble(deployment, upstream)}`)
    })
    const upAt = Date.now()
    const { healedAt, start } = await play(settings, deployment, upstream, history)
    let final = await ownershipProblems(deployment, upstream.ids)
    const settled = Date.now() + SETTLE_MILLIS
    while (final.problems.length > 0 && Date.now() < settled) {
      await sleep(500)
      final = await ownershipProblems(deployment, upstream.ids)
    }
    const settledAfter = Date.now() - healedAt
    const missing = await unserved(deployment, upstream.ids)
    const end = Date.now()
    deployment.recordLogs()
    const secrets = upstream.secrets()
    const leaks = deployment.replicas.flatMap((replica) =>
      secrets.filter(([, secret]) => replica.output.includes(secret)).map(([what]) => `${replica.name}: ${what}`)
    )
    const input: CheckInput = {
      history,
      limits: Object.fromEntries(upstream.ids.map((id) => [id, P44_RATE_LIMIT])),
      rateLimitedBySim: {},
      refreshReuse: { reuseDetected: 0, invalidGrant: 0 },
      bucketReplicas: [],
      wantedReplicas: target.streamReplicas,
      scaledByTest: [],
      leaks,
      healedAt,
      start,
      end
    }
    const verdicts = [
      rateLimits(input, upstream.ids),
      verdict("the upstream never answers 429", `${upstream.rateLimited()} × 429`, "none",
        upstream.rateLimited() === 0 ? [] : [`${upstream.rateLimited()} rate-limited token requests`]),
      oneTokenPerVersion(input),
      oneCommitterPerTerm(input),
      leaderGaps(input, upstream.ids, defaultLeaseConfig.ttlMillis, upAt),
      verdict(
        "every provider led by the one live member rendezvous picks, fenced by it, and served",
        `${final.members.length} members at the end; settled ${settledAfter} ms after the last step; ` +
          `${missing.length} unserved`,
        `within ${SETTLE_MILLIS} ms`,
        [...final.problems, ...missing.map((provider) => `${provider}: no token from a get`)]
      ),
      verdict("no secret in the replicas' output", `${leaks.length} leaks`, "none", leaks)
    ]
    const faults = history.of("fault")
    const starting = leaderGaps(input, upstream.ids, defaultLeaseConfig.ttlMillis).observed.replace(/.*worst gap /, "")
    const figures = `faults: ${faults.map((f) => `${f.kind} ${f.target} at ${offset(input, f.at)}`).join("; ")}; ` +
      `replicas started: ${deployment.replicas.length}; upstream calls: ${history.of("upstream").length}; ` +
      `worst gap counting the start too: ${starting}`
    const stamp = `${settings.seed}-${new Date(start).toISOString()}`
    const historyPath = join(tmpdir(), `tokenbus-chaos-scale-${stamp}.jsonl`)
    await history.write(historyPath)
    const report = render(settings, input, verdicts, `${figures}\nhistory: ${historyPath}; replica logs: ${logsPath}`)
    const violations = verdicts.flatMap((v) => v.violations.map((violation) => `${v.invariant}: ${violation}`))
    return { verdicts, violations, report }
  } finally {
    await deployment.stop()
    await upstream.close()
    // Written also when the run fails before its verdict (a start that never finishes), for the post-mortem.
    await writeFile(logsPath, deployment.replicas.map((replica) => replica.dump()).join("\n"))
    log(`replica logs: ${logsPath}`)
  }
}

const led = (provider: string) => logMsg("became leader", { provider })

/** Why the start did not finish: the providers without a logged commit, and the replicas' warnings by message. */
const startTrouble = (deployment: Deployment, upstream: ScaleUpstream): string => {
  const minted = (provider: string) => logMsg("minted and committed a token", { provider })
  const missing = upstream.ids.filter((id) => !deployment.replicas.some((r) => r.hasLog(minted(id))))
  const warnings = new Map<string, number>()
  for (const line of deployment.replicas.flatMap((r) => r.logs.filter((l) => l.level >= 40))) {
    warnings.set(line.msg.slice(0, 100), (warnings.get(line.msg.slice(0, 100)) ?? 0) + 1)
  }
  return `${missing.length} without a logged commit (${missing.slice(0, 5).join(", ")}...); warnings: ` +
    JSON.stringify(Object.fromEntries(warnings))
}
