/**
 * The demo's story, one step after the other, each checked against what
 * tokenbus promises and printed as one progress line with its mint count
 * ("mints +1"): steady state, a revocation, the leader killed, a replica
 * added and one removed, a 401 storm, the budget nearly spent. Mints are
 * counted where they happen, at the simulated upstream.
 */
import { Console, Effect } from "effect"
import { type DemoRecovery, type DemoStep, median } from "../DemoSummary.ts"
import { DEMO_PROVIDER } from "./DemoFiles.ts"
import type { Fleet } from "./DemoFleet.ts"
import type { DemoStack } from "./DemoStack.ts"

export interface StoryRecord {
  readonly steps: Array<DemoStep>
  readonly recoveries: Array<DemoRecovery>
  takeoverMillis: number | undefined
}

interface Outcome {
  readonly ok: boolean
  readonly detail: string
}

const TOTAL_STEPS = 6
const BUDGET_WAIT = "mint waits for the rate budget"

/** Polls `done` every 25 ms until it holds or `timeoutMillis` pass; says whether it held. */
const waitUntil = (done: () => boolean, timeoutMillis: number): Effect.Effect<boolean> => {
  const poll: Effect.Effect<boolean> = Effect.suspend(() =>
    done() ? Effect.succeed(true) : Effect.sleep(25).pipe(Effect.andThen(poll))
  )
  return poll.pipe(Effect.timeoutOrElse({ duration: timeoutMillis, orElse: () => Effect.succeed(false) }))
}

const mints = (stack: DemoStack) => stack.sim.counters().mints

/** Revokes the current token at a mark and waits until every consumer was served again; its recovery, if so. */
const revokeAndRecover = (fleet: Fleet, what: string, revoke: Effect.Effect<void>, timeout = 15_000) =>
  Effect.gen(function*() {
    fleet.mark()
    yield* revoke
    const recovered = yield* waitUntil(() => fleet.recoveries() !== undefined, timeout)
    const times = fleet.recoveries()
    if (!recovered || times === undefined) return undefined
    return { what, maxMillis: Math.max(...times), medianMillis: median(times) } satisfies DemoRecovery
  })

const recoveryText = (r: DemoRecovery | undefined, size: number) =>
  r === undefined
    ? "consumers did NOT all recover"
    : `all ${size} consumers served again within ${Math.round(r.maxMillis)} ms (median ${
      Math.round(r.medianMillis)
    } ms)`

const steady = (stack: DemoStack, fleet: Fleet) =>
  Effect.gen(function*() {
    const [before, served] = [mints(stack), fleet.counts.served]
    yield* Effect.sleep(3_000)
    const delta = mints(stack) - before
    const calls = fleet.counts.served - served
    return { ok: delta === 0 && calls > 0, detail: `mints +${delta}; ${calls} calls served in 3 s from the one token` }
  })

const revocation = (stack: DemoStack, fleet: Fleet, size: number, record: StoryRecord) =>
  Effect.gen(function*() {
    const before = mints(stack)
    const revoke = Effect.sync(() => stack.sim.revokeAll())
    const recovery = yield* revokeAndRecover(fleet, "revocation", revoke)
    yield* Effect.sleep(1_000)
    const delta = mints(stack) - before
    if (recovery !== undefined) record.recoveries.push(recovery)
    return { ok: delta === 1 && recovery !== undefined, detail: `mints +${delta}; ${recoveryText(recovery, size)}` }
  })

const leaderKill = (stack: DemoStack, record: StoryRecord) =>
  Effect.gen(function*() {
    const leader = stack.leader()
    if (leader === undefined) return { ok: false, detail: "no leader to kill" }
    const [before, term] = [mints(stack), leader.replica.latestTerm(DEMO_PROVIDER) ?? 0]
    const started = performance.now()
    yield* leader.replica.stop("SIGKILL")
    const moved = yield* waitUntil(() => (stack.leader()?.replica.latestTerm(DEMO_PROVIDER) ?? 0) > term, 15_000)
    const takeover = performance.now() - started
    yield* Effect.sleep(1_500)
    const delta = mints(stack) - before
    const next = stack.leader()
    if (moved) record.takeoverMillis = takeover
    const who = moved && next !== undefined ? `${next.replica.name} took over in ${Math.round(takeover)} ms` : "no takeover"
    return { ok: moved && delta === 0, detail: `mints +${delta}; ${leader.replica.name} SIGKILLed, ${who}` }
  })

const scale = (stack: DemoStack) =>
  Effect.gen(function*() {
    const before = mints(stack)
    const added = yield* stack.addReplica()
    const removed = stack.replicas.find((r) => r.replica.alive && r !== added)
    if (removed !== undefined) yield* removed.replica.stop("SIGTERM")
    yield* Effect.sleep(1_500)
    const delta = mints(stack) - before
    const leader = stack.leader()
    return {
      ok: delta === 0 && leader !== undefined && removed !== undefined,
      detail: `mints +${delta}; ${added.replica.name} (pid ${added.replica.pid}, dashboard ` +
        `http://127.0.0.1:${added.httpPort}/) joined, ${removed?.replica.name ?? "none"} stopped (SIGTERM), ` +
        `${leader?.replica.name ?? "nobody"} leads`
    }
  })

const storm = (stack: DemoStack, fleet: Fleet, size: number, record: StoryRecord) =>
  Effect.gen(function*() {
    const before = mints(stack)
    let versions: ReadonlyArray<string> = []
    const revoke = fleet.storm(DEMO_PROVIDER, 5, Effect.sync(() => stack.sim.revokeAll())).pipe(
      Effect.tap((answers) => Effect.sync(() => (versions = answers))),
      Effect.asVoid
    )
    const recovery = yield* revokeAndRecover(fleet, "401 storm", revoke)
    yield* Effect.sleep(1_000)
    const delta = mints(stack) - before
    if (recovery !== undefined) record.recoveries.push(recovery)
    const distinct = new Set(versions).size
    return {
      ok: delta === 1 && recovery !== undefined && versions.length === size * 5 && distinct === 1,
      detail: `mints +${delta}; ${versions.length} reports at once, answered with ${distinct} new version(s); ` +
        recoveryText(recovery, size)
    }
  })

/** Revokes token after token until a mint has to wait for the budget window; nothing may fail meanwhile. */
const budget = (stack: DemoStack, fleet: Fleet, size: number, record: StoryRecord) =>
  Effect.gen(function*() {
    const [before, failures] = [mints(stack), fleet.counts.failures]
    let waited: DemoRecovery | undefined
    let rounds = 0
    while (waited === undefined && rounds < 8) {
      rounds++
      const revoke = Effect.sync(() => stack.sim.revokeAll())
      const recovery = yield* revokeAndRecover(fleet, "after the budget wait", revoke, 25_000)
      if (recovery === undefined) return { ok: false, detail: `round ${rounds}: ${recoveryText(recovery, size)}` }
      if (recovery.maxMillis > 1_500) waited = recovery
    }
    const delta = mints(stack) - before
    if (waited !== undefined) record.recoveries.push(waited)
    // The wait is the budget's, not a slow upstream's: the leader says so.
    const logged = stack.replicas.some((r) => r.replica.lines.some((line) => line.msg === BUDGET_WAIT))
    return {
      ok: waited !== undefined && logged && fleet.counts.failures === failures,
      detail: `mints +${delta} for ${rounds} revocations; ` +
        (waited === undefined
          ? "no mint had to wait"
          : `the last mint waited for the budget window${logged ? ` (the leader logged "${BUDGET_WAIT}")` : ""}: ` +
            recoveryText(waited, size)) +
        `; failures +${fleet.counts.failures - failures}`
    }
  })

const run = (record: StoryRecord, index: number, title: string, body: Effect.Effect<Outcome, unknown>) =>
  Console.log(`[${index}/${TOTAL_STEPS}] ${title} ...`).pipe(
    Effect.andThen(body),
    Effect.catch((error) => Effect.succeed({ ok: false, detail: `stopped: ${String(error)}` })),
    Effect.tap((outcome) =>
      Effect.sync(() => record.steps.push({ title, ok: outcome.ok, detail: outcome.detail })).pipe(
        Effect.andThen(Console.log(`      ${outcome.ok ? "ok" : "FAIL"}: ${title}: ${outcome.detail}`))
      )
    )
  )

/** Plays the story on a running stack and fleet of `size` consumers. */
export const playStory = (stack: DemoStack, fleet: Fleet, size: number) =>
  Effect.gen(function*() {
    const record: StoryRecord = { steps: [], recoveries: [], takeoverMillis: undefined }
    yield* run(record, 1, "steady state", steady(stack, fleet))
    yield* run(record, 2, "a token revoked upstream", revocation(stack, fleet, size, record))
    yield* run(record, 3, "the leader killed", leaderKill(stack, record))
    yield* run(record, 4, "a replica added and one removed", scale(stack))
    yield* run(record, 5, "a 401 storm", storm(stack, fleet, size, record))
    yield* run(record, 6, "the budget nearly spent", budget(stack, fleet, size, record))
    return record
  })
