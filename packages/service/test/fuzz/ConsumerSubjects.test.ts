// The subjects every consumer may send to, fuzzed against two real replicas
// on the in-memory NATS under TestClock: `get` and `unauthorized` payloads
// from HostileRequests.ts on the configured provider, and any payload on
// provider tokens no replica serves. Each request gets exactly one reply, a
// TokenReply with the typed error its case calls for or a token; hostile
// input never reaches the upstream (a report of the held version mints at
// most once per version); the caches hold only the configured provider; and
// the refusals are logged at a bounded rate, their counts adding up
// (FuzzChecks.ts).
import { describe, it } from "@effect/vitest"
import fc from "fast-check"
import { fuzzRun, sendHostile, sendToUnknown } from "./FuzzChecks.ts"
import { PROVIDER, subjects } from "./FuzzCluster.ts"
import { hostileGet, hostileReport, unknownProvider } from "./HostileRequests.ts"

const runs = { get: 3_000, report: 3_000, unknown: 1_000 }

describe("hostile input on the consumer subjects", () => {
  it.effect(`${runs.get} get requests: each answered once, typed, and nothing minted`, () =>
    fuzzRun(
      runs.get,
      hostileGet,
      (fuzz, tally, hostile) => sendHostile(fuzz, tally, subjects.get(PROVIDER), hostile)
    ), { timeout: 60_000 })

  it.effect(`${runs.report} reports: replayed and forged ones mint nothing, one of the held version at most once`, () =>
    fuzzRun(
      runs.report,
      hostileReport,
      (fuzz, tally, hostile) => sendHostile(fuzz, tally, subjects.unauthorized(PROVIDER), hostile)
    ), { timeout: 60_000 })

  it.effect(`${runs.unknown} requests for providers nobody serves: ProviderNotFound, and nothing kept`, () =>
    fuzzRun(
      runs.unknown,
      fc.tuple(unknownProvider(PROVIDER), fc.boolean(), fc.oneof(hostileGet, hostileReport)),
      (fuzz, tally, [provider, get, hostile]) =>
        sendToUnknown(fuzz, tally, get ? subjects.get(provider) : subjects.unauthorized(provider), hostile.payload)
    ), { timeout: 60_000 })
})
