/**
 * Refused requests, logged at a bounded rate. Anyone who may publish on a
 * request subject can send a flood of bad requests, which must not become a
 * flood of log lines. The first refusal of a kind (the endpoint and the
 * error's tag: a handful of kinds, whatever is sent) is logged at once; the
 * next ones of that kind within `intervalMillis` of that line are counted,
 * and one line at the end of the interval says how many there were
 * (`dropped`) and shows the latest. A line names the endpoint, the subject
 * (cut short: the sender chose it) and the error's tag; never the payload, and
 * the error's message only when the replica wrote it without the request's
 * content (`TokenUnavailable`, `CredentialsRejected`).
 */
import type { ProtocolError } from "@tokenbus/core"
import { Clock, Effect } from "effect"
import { clip } from "./BoundedText.ts"

export const refusalLogIntervalMillis = 10_000
export const maxLoggedSubjectChars = 128
const maxLoggedReasonChars = 256

/** The request subjects a replica answers: a closed set, so the refusal kinds are too. */
export type Endpoint = "get" | "unauthorized" | "mint"

export interface Refusal {
  readonly endpoint: Endpoint
  readonly subject: string
  readonly error: ProtocolError
}

export interface RefusalLog {
  /** Logs `refusal` now, or counts it for the line that ends its kind's interval. */
  readonly refused: (refusal: Refusal) => Effect.Effect<void>
}

/** What a line says of a refusal: already cut short, so a kind holds a bounded amount of text. */
interface Described {
  readonly endpoint: Endpoint
  readonly subject: string
  readonly error: string
  readonly reason?: string
}

interface Kind {
  lastLineAt: number
  /** Refusals since the last line that had no line of their own. */
  dropped: number
  latest: Described
  /** A line for the dropped ones is scheduled. */
  summaryDue: boolean
}

/** The errors whose message says something of what was sent. */
const aboutTheRequest: ReadonlySet<string> = new Set([
  "InvalidRequest",
  "ProviderNotFound",
  "UnsupportedProtocolVersion"
])

const describe = ({ endpoint, error, subject }: Refusal): Described => ({
  endpoint,
  subject: clip(subject, maxLoggedSubjectChars),
  error: error._tag,
  ...(aboutTheRequest.has(error._tag) ? {} : { reason: clip(error.message, maxLoggedReasonChars) })
})

const line = (refusal: Described, dropped: number) =>
  Effect.logWarning("request refused").pipe(Effect.annotateLogs({ ...refusal, dropped }))

/** A refusal log whose end-of-interval lines run in the caller's scope (they stop with it). */
export const makeRefusalLog = Effect.fnUntraced(function*(intervalMillis: number = refusalLogIntervalMillis) {
  const scope = yield* Effect.scope
  const kinds = new Map<string, Kind>()

  const summary = (kind: Kind, waitMillis: number) =>
    Effect.sleep(waitMillis).pipe(
      Effect.andThen(Clock.currentTimeMillis),
      Effect.flatMap((now) => {
        const dropped = kind.dropped
        kind.lastLineAt = now
        kind.dropped = 0
        kind.summaryDue = false
        return line(kind.latest, dropped)
      })
    )

  const refused = (refusal: Refusal): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const key = `${refusal.endpoint} ${refusal.error._tag}`
      const kind = kinds.get(key)
      if (kind === undefined || (!kind.summaryDue && now - kind.lastLineAt >= intervalMillis)) {
        const described = describe(refusal)
        kinds.set(key, { lastLineAt: now, dropped: 0, latest: described, summaryDue: false })
        return line(described, 0)
      }
      kind.dropped += 1
      kind.latest = describe(refusal)
      if (kind.summaryDue) return Effect.void
      kind.summaryDue = true
      return summary(kind, kind.lastLineAt + intervalMillis - now).pipe(Effect.forkIn(scope), Effect.asVoid)
    })

  return { refused } satisfies RefusalLog
})
