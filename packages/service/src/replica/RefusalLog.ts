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
 * content (`TokenUnavailable`, `CredentialsRejected`). The pacing is core's
 * bounded warning (BoundedWarning.ts), which the dropped tokens' warning
 * shares; what is the refusals' own is here: the kinds, and what a line may
 * show of what the sender chose.
 */
import { boundedWarning, type ProtocolError } from "@tokenbus/core"
import { Effect } from "effect"
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
  const warning = yield* boundedWarning<Refusal, Described>({
    periodMillis: intervalMillis,
    // A line shows the latest refusal of those it stands for.
    add: (_, refusal) => describe(refusal),
    write: line
  })
  const refused = (refusal: Refusal) => warning.record(`${refusal.endpoint} ${refusal.error._tag}`, refusal)
  return { refused } satisfies RefusalLog
})
