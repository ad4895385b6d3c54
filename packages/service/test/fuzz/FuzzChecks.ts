// What every fuzzed request and every fuzz run must show, shared by the
// fuzz tests of the request subjects: the typed reply its case calls for,
// no upstream call for hostile input (only a report of the held version may
// mint, at most once per version), an answer that needs no waiting for
// anything the replica refuses, error replies of bounded size, and, over a
// whole run, log lines that are bounded in number, add up to every refusal,
// stay short and never carry a payload.
import { assert } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { maxLoggedSubjectChars, refusalLogIntervalMillis } from "../../src/replica/RefusalLog.ts"
import { maxErrorMessageChars } from "../../src/replica/RequestPayload.ts"
import { advance } from "../support/MemoryCluster.ts"
import type fc from "fast-check"
import {
  capturingLogs,
  forAll,
  type FuzzCluster,
  type LogLine,
  PROVIDER,
  startFuzzCluster
} from "./FuzzCluster.ts"
import { canary, type Hostile, resolve, versionSlot } from "./HostileRequests.ts"

/** An error reply is at most this long, whatever was sent. */
const maxErrorReplyChars = 1_024

/** What a run has seen so far. */
export interface Tally {
  readonly startedAt: number
  readonly startCalls: number
  /** Which error replies the replicas log as refusals (the leader logs only the requests it cannot read). */
  readonly logged: (tag: string) => boolean
  /** Error replies that are logged refusals: each one must appear in a line or a line's count. */
  refusals: number
  /** Versions reported while they were the newest held: the only reports that may mint. */
  readonly reportedHeld: Set<number>
}

export const makeTally = (fuzz: FuzzCluster, logged: (tag: string) => boolean = () => true) =>
  Effect.map(Effect.all([Clock.currentTimeMillis, fuzz.calls]), ([startedAt, startCalls]): Tally => ({
    startedAt,
    startCalls,
    logged,
    refusals: 0,
    reportedHeld: new Set()
  }))

const errorTag = (reply: { readonly ok: boolean; readonly error?: { readonly _tag: string } }) =>
  reply.ok ? "a token" : reply.error?._tag

/**
 * How long a consumer uses a token before it reports it: past the breaker's
 * fresh-token window (5 s), so reports of the held version keep minting by
 * the rules instead of tripping the breaker, and the fuzz goes on checking
 * one mint per version.
 */
const beforeHeldReportMillis = 6_000

/** Sends `hostile` on `subject` and checks its reply and what it cost. */
export const sendHostile = (fuzz: FuzzCluster, tally: Tally, subject: string, hostile: Hostile) =>
  Effect.gen(function*() {
    if (hostile.expected._tag === "report" && hostile.expected.pick._tag === "held") {
      yield* advance(beforeHeldReportMillis, 250)
    }
    const held = yield* fuzz.held
    const callsBefore = yield* fuzz.calls
    const { expected } = hostile
    const version = expected._tag === "report" ? resolve(expected.pick, held) : held
    const payload = hostile.payload.replaceAll(versionSlot, `${version}`)
    const { reply, text, waitedMillis } = yield* fuzz.send(subject, payload)
    const mayMint = expected._tag === "report" && version === held
    const what = `${expected._tag} ${subject} ${hostile.payload.slice(0, 80)}`
    if (!reply.ok) {
      if (tally.logged(reply.error._tag)) tally.refusals += 1
      assert.isAtMost(text.length, maxErrorReplyChars, `error reply size (${what})`)
      assert.isAtMost(reply.error.message.length, maxErrorMessageChars + 1, `error message size (${what})`)
    }
    if (expected._tag === "refused") assert.strictEqual(errorTag(reply), expected.error, what)
    else if (!mayMint) assert.strictEqual(errorTag(reply), "a token", what)
    else {
      tally.reportedHeld.add(version)
      assert.include(["a token", "CredentialsRejected", "TokenUnavailable"], errorTag(reply), what)
    }
    if (reply.ok) assert.strictEqual(reply.token.provider, PROVIDER)
    if (!mayMint) {
      // Answered without the clock moving, so no mint held back by the rate budget can fire meanwhile.
      assert.strictEqual(waitedMillis, 0, `answered at once (${what})`)
      assert.strictEqual(yield* fuzz.calls, callsBefore, `no upstream call (${what})`)
    }
    const mints = (yield* fuzz.calls) - tally.startCalls
    assert.isAtMost(mints, tally.reportedHeld.size, "at most one mint per reported version")
  })

/** Sends `payload` on `subject`, whose provider token names no configured provider: `ProviderNotFound`, at once. */
export const sendToUnknown = (fuzz: FuzzCluster, tally: Tally, subject: string, payload: string) =>
  Effect.gen(function*() {
    const callsBefore = yield* fuzz.calls
    const { reply, text, waitedMillis } = yield* fuzz.send(subject, payload.replaceAll(versionSlot, "7"))
    assert.strictEqual(errorTag(reply), "ProviderNotFound", subject)
    tally.refusals += 1
    if (!reply.ok && reply.error._tag === "ProviderNotFound") assert.isAtMost(reply.error.provider.length, 65)
    assert.isAtMost(text.length, maxErrorReplyChars)
    assert.strictEqual(waitedMillis, 0)
    assert.strictEqual(yield* fuzz.calls, callsBefore)
  })

/** Lines other than refusals a run may log: a few at start-up, a few per upstream call (mint, audit, budget). */
const otherLines = (calls: number) => 16 + 6 * calls

/**
 * The end of a run: every request answered once, nothing kept for unknown
 * providers, no defect, no payload in any line, and the refusal lines
 * (flushed by moving the clock past one interval) at least an interval
 * apart within each kind (replica, endpoint, error), short, and adding up to
 * the refusals: the first line of a kind stands for one, a later one for its
 * `dropped`. Other lines are bounded by the upstream calls.
 */
export const checkRun = (fuzz: FuzzCluster, tally: Tally, lines: ReadonlyArray<LogLine>, sent: number) =>
  Effect.gen(function*() {
    yield* advance(refusalLogIntervalMillis + 1_000, 500)
    assert.deepStrictEqual(yield* fuzz.heard, { requests: sent, duplicates: 0 })
    for (const cache of fuzz.caches) assert.isAtMost(cache.size, 1, "a cache holds only configured providers")

    assert.deepStrictEqual(lines.filter((line) => line.defect || line.message.includes("threw")), [])
    for (const line of lines) assert.notInclude(`${line.message} ${JSON.stringify(line.annotations)}`, canary)
    const refusalLines = lines.filter((line) => line.message === "request refused")
    const lastLineOf = new Map<string, number>()
    for (const { annotations, at } of refusalLines) {
      assert.isAtMost(String(annotations["subject"]).length, maxLoggedSubjectChars + 1)
      const kind = `${annotations["replica"]} ${annotations["endpoint"]} ${annotations["error"]}`
      const last = lastLineOf.get(kind)
      if (last !== undefined) assert.isAtLeast(at - last, refusalLogIntervalMillis, `lines of ${kind}`)
      lastLineOf.set(kind, at)
    }
    const counted = refusalLines.reduce((sum, line) => sum + Math.max(1, Number(line.annotations["dropped"])), 0)
    assert.strictEqual(counted, tally.refusals, "the lines account for every refusal")
    const calls = (yield* fuzz.calls) - tally.startCalls + 1
    assert.isAtMost(lines.length - refusalLines.length, otherLines(calls), "lines other than refusals")
  })

/**
 * A fuzz run: a new cluster, `runs` values of `arbitrary` sent with `send`,
 * then the run's checks. `logged` says which error replies the replicas log
 * as refusals.
 */
export const fuzzRun = <A>(
  runs: number,
  arbitrary: fc.Arbitrary<A>,
  send: (fuzz: FuzzCluster, tally: Tally, value: A) => Effect.Effect<void>,
  logged?: (tag: string) => boolean
) => {
  const lines: Array<LogLine> = []
  return capturingLogs(
    lines,
    Effect.gen(function*() {
      const fuzz = yield* startFuzzCluster()
      const tally = yield* makeTally(fuzz, logged)
      yield* forAll(runs, arbitrary, (value) => send(fuzz, tally, value))
      yield* checkRun(fuzz, tally, lines, runs)
    })
  )
}
