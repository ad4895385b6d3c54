// A flood of 401 reports of a token that was minted after a 401 and refused
// at once, on the in-memory NATS under TestClock with the real replica: the
// first report trips the breaker; the others, still inside the fresh-token
// window, are answered `CredentialsRejected` by the breaker that holds,
// without writing the provider's state again or logging another trip.
import { assert, describe, it } from "@effect/vitest"
import type { KvBucket } from "@tokenbus/nats"
import { Effect, Option } from "effect"
import { capturingLogs, type LogLine } from "../support/CapturedLogs.ts"
import { errorOf, PROVIDER, reportUnauthorized, startCluster, subjects, tokenOf } from "../support/MemoryCluster.ts"

const reports = 20

/** The revision of the provider's state in KV: each write of it moves it by one. */
const stateRevision = (bucket: KvBucket) =>
  bucket.get(PROVIDER).pipe(Effect.map(Option.match({ onNone: () => 0, onSome: (entry) => entry.revision })))

describe("a 401 flood on a token refused at once", () => {
  it.effect("trips the breaker once: one KV write, one audit line, one error line, and every report refused", () => {
    const lines: Array<LogLine> = []
    return capturingLogs(lines, Effect.gen(function*() {
      const { consumer, first, upstream } = yield* startCluster(1)
      const afterReport = tokenOf(yield* reportUnauthorized(consumer, first))
      assert.strictEqual(afterReport.reason, "unauthorized-report")
      const calls = yield* upstream.calls
      const tokens = yield* consumer.bucket(subjects.tokenBucket, {})
      const before = yield* stateRevision(tokens)

      // One after another, as a consumer retrying in a loop does: none joins a mint under way.
      const tags: Array<string> = []
      for (let sent = 0; sent < reports; sent++) {
        tags.push(errorOf(yield* reportUnauthorized(consumer, afterReport))._tag)
      }

      assert.deepStrictEqual(tags, Array.from({ length: reports }, () => "CredentialsRejected"))
      assert.strictEqual((yield* stateRevision(tokens)) - before, 1, "the breaker was written more than once")
      const trips = lines.filter((line) => line.annotations["event"] === "breaker-tripped")
      assert.strictEqual(trips.length, 1, "one audit line for the trip")
      const errors = lines.filter((line) => line.message.startsWith("the upstream rejected the credentials"))
      assert.strictEqual(errors.length, 1, "one error line for the trip")
      assert.strictEqual(yield* upstream.calls, calls, "nothing was minted")
    }))
  })
})
