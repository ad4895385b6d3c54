// The refusal log under TestClock: the first refusal of a kind is a line at
// once, the rest of its interval one line with their count, kinds do not
// hold each other up, a quiet spell starts over, a flood stays at one line
// per interval whose counts add up, and a line carries no more of what the
// sender chose than a cut-short subject.
import { assert, describe, it } from "@effect/vitest"
import { InvalidRequest, ProviderNotFound, TokenUnavailable } from "@tokenbus/core"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import {
  makeRefusalLog,
  maxLoggedSubjectChars,
  type Refusal,
  type RefusalLog,
  refusalLogIntervalMillis
} from "../../src/replica/RefusalLog.ts"
import { capturingLogs, type LogLine } from "../support/CapturedLogs.ts"

/** Runs `body` with a refusal log and every line it writes kept. */
const withLog = <A, E, R>(
  body: (log: RefusalLog, lines: ReadonlyArray<LogLine>) => Effect.Effect<A, E, R>
) => {
  const lines: Array<LogLine> = []
  return capturingLogs(lines, Effect.flatMap(makeRefusalLog(), (log) => body(log, lines)))
}

const invalid = (subject = "tb.token.acme.get"): Refusal => ({
  endpoint: "get",
  subject,
  error: new InvalidRequest({ message: "malformed get request: secret-payload-text" })
})

/** Lets forked summaries run once the clock reaches them. */
const pass = (millis: number) => TestClock.adjust(millis).pipe(Effect.andThen(Effect.yieldNow))

describe("RefusalLog", () => {
  it.effect("logs the first refusal at once and the rest of the interval as one line with their count", () =>
    withLog((log, lines) =>
      Effect.gen(function*() {
        yield* log.refused(invalid())
        assert.deepStrictEqual(lines.map((line) => line.annotations), [
          { endpoint: "get", subject: "tb.token.acme.get", error: "InvalidRequest", dropped: 0 }
        ])
        for (let i = 0; i < 41; i++) {
          yield* pass(100)
          yield* log.refused(invalid(`tb.token.acme-${i}.get`))
        }
        assert.strictEqual(lines.length, 1)
        yield* pass(refusalLogIntervalMillis)
        assert.strictEqual(lines.length, 2)
        assert.strictEqual(lines[1]!.at - lines[0]!.at, refusalLogIntervalMillis)
        assert.deepStrictEqual(lines[1]!.annotations, {
          endpoint: "get",
          subject: "tb.token.acme-40.get",
          error: "InvalidRequest",
          dropped: 41
        })
        for (const line of lines) assert.strictEqual(line.message, "request refused")
      })
    ))

  it.effect("keeps kinds apart: another error or endpoint is logged at once", () =>
    withLog((log, lines) =>
      Effect.gen(function*() {
        yield* log.refused(invalid())
        yield* log.refused(invalid())
        yield* log.refused({ ...invalid(), endpoint: "unauthorized" })
        const notFound = new ProviderNotFound({ provider: "x", message: "no provider named x" })
        yield* log.refused({ ...invalid(), error: notFound })
        assert.deepStrictEqual(lines.map(({ annotations }) => `${annotations["endpoint"]} ${annotations["error"]}`), [
          "get InvalidRequest",
          "unauthorized InvalidRequest",
          "get ProviderNotFound"
        ])
      })
    ))

  it.effect("after a quiet interval, the next refusal is logged at once again", () =>
    withLog((log, lines) =>
      Effect.gen(function*() {
        yield* log.refused(invalid())
        yield* pass(refusalLogIntervalMillis + 1)
        assert.strictEqual(lines.length, 1, "nothing was dropped, so no line ends the interval")
        yield* log.refused(invalid())
        assert.strictEqual(lines.length, 2)
        assert.strictEqual(lines[1]!.annotations["dropped"], 0)
      })
    ))

  it.effect("a minute of flood is one line per interval, and the counts add up to every refusal", () =>
    withLog((log, lines) =>
      Effect.gen(function*() {
        let sent = 0
        for (let millis = 0; millis < 60_000; millis += 50) {
          yield* log.refused(invalid())
          sent += 1
          yield* pass(50)
        }
        yield* pass(refusalLogIntervalMillis)
        assert.isAtMost(lines.length, 60_000 / refusalLogIntervalMillis + 2)
        lines.slice(1).forEach((line, index) => {
          assert.isAtLeast(line.at - lines[index]!.at, refusalLogIntervalMillis)
        })
        const counted = lines.reduce((sum, line) => sum + Math.max(1, Number(line.annotations["dropped"])), 0)
        assert.strictEqual(counted, sent)
      })
    ))

  it.effect("cuts the subject short, never logs a message built from the request, and keeps the replica's own", () =>
    withLog((log, lines) =>
      Effect.gen(function*() {
        yield* log.refused(invalid(`tb.token.${"x".repeat(5_000)}.get`))
        yield* log.refused({
          endpoint: "unauthorized",
          subject: "tb.token.acme.unauthorized",
          error: new TokenUnavailable({ provider: "acme", message: `no leader for acme answered ${"!".repeat(1_000)}` })
        })
        const [refused, unavailable] = lines
        assert.strictEqual(String(refused!.annotations["subject"]).length, maxLoggedSubjectChars + 1)
        assert.notInclude(JSON.stringify(refused!.annotations), "secret-payload-text")
        assert.notProperty(refused!.annotations, "reason")
        const reason = String(unavailable!.annotations["reason"])
        assert.match(reason, /^no leader for acme answered !+…$/)
        assert.isBelow(reason.length, 300)
      })
    ))
})
