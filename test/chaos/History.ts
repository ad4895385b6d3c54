/**
 * What a chaos run saw, as one time-ordered list of events the checker reads
 * afterwards: every consumer's `getToken`/`fetch` outcome and every change of
 * the token it holds, every call the upstreams' token endpoints received, the
 * nemesis's faults, the signals sent to replicas and their exits, and the
 * replicas' own log lines about leadership and commits. Times are epoch
 * milliseconds of this machine's clock, which the replicas' pino lines share.
 *
 * Secrets never enter it: tokens are kept as fingerprints (a prefix of their
 * SHA-256), enough to tell two tokens apart and nothing more. The history is
 * also written as JSON lines to a file, so a failing run can be read event by
 * event.
 */
import { createHash } from "node:crypto"
import { writeFile } from "node:fs/promises"

/** A token's fingerprint: tells tokens apart without revealing them. */
export const fingerprint = (secret: string): string => createHash("sha256").update(secret).digest("hex").slice(0, 12)

/** One consumer call through the client library. */
export interface OpEvent {
  readonly type: "op"
  readonly at: number
  readonly start: number
  readonly consumer: string
  readonly provider: string
  readonly op: "getToken" | "fetch"
  /** Whether the consumer held an unexpired token when the call started (`peek`). */
  readonly held: boolean
  /** Replicas alive and not SIGSTOPped when the call started. */
  readonly replicasUp: number
  readonly ok: boolean
  readonly version?: number
  readonly token?: string
  /** The HTTP status `fetch` handed back. */
  readonly status?: number
  readonly error?: string
}

/** The token a consumer holds changed (sampled from `peek`); version undefined: none, or expired. */
export interface HeldEvent {
  readonly type: "held"
  readonly at: number
  readonly consumer: string
  readonly provider: string
  readonly version: number | undefined
  readonly token?: string
}

/** A request that reached an upstream's token endpoint, and its answer. */
export interface UpstreamCallEvent {
  readonly type: "upstream"
  readonly at: number
  readonly end: number
  readonly provider: string
  /** Undefined: no answer (the caller went away, or the upstream was closed). */
  readonly status: number | undefined
  /** The refresh token presented, for a refresh-token grant. */
  readonly refreshToken?: string
}

export interface FaultEvent {
  readonly type: "fault"
  readonly at: number
  readonly end: number
  readonly kind: string
  readonly target: string
  readonly detail: string
}

/** The token an upstream was told to refuse from now on. */
export interface RevocationEvent {
  readonly type: "revocation"
  readonly at: number
  readonly provider: string
  readonly version: number
  readonly token: string
}

/** A burst of 401 reports for one version, and what the reporters got back. */
export interface StormEvent {
  readonly type: "storm"
  readonly at: number
  readonly end: number
  readonly provider: string
  readonly version: number
  readonly reports: number
  /** Versions in the replies, with how many replies carried each. */
  readonly replies: Readonly<Record<string, number>>
  readonly errors: Readonly<Record<string, number>>
}

export interface SignalEvent {
  readonly type: "signal"
  readonly at: number
  readonly replica: string
  readonly signal: string
}

export interface ReplicaStartEvent {
  readonly type: "replica-start"
  readonly at: number
  readonly replica: string
}

export interface ReplicaExitEvent {
  readonly type: "replica-exit"
  readonly at: number
  readonly replica: string
  readonly code: number | null
  readonly signal: string | null
}

/** A replica's log line about leadership or a commit, or a warning or error. */
export interface LogEvent {
  readonly type: "log"
  readonly at: number
  /** The process's name in the run (chaos-1...). */
  readonly replica: string
  /** The id the replica gave itself, which its own messages name (an in-doubt call's holder). */
  readonly replicaId?: string
  readonly msg: string
  readonly provider?: string
  readonly term?: number
  readonly version?: number
  readonly reason?: string
  readonly revision?: number
  readonly detail?: string
}

export type ChaosEvent =
  | OpEvent
  | HeldEvent
  | UpstreamCallEvent
  | FaultEvent
  | RevocationEvent
  | StormEvent
  | SignalEvent
  | ReplicaStartEvent
  | ReplicaExitEvent
  | LogEvent

type EventOf<T extends ChaosEvent["type"]> = Extract<ChaosEvent, { readonly type: T }>

export class History {
  readonly #events: Array<ChaosEvent> = []

  add(event: ChaosEvent): void {
    this.#events.push(event)
  }

  /** Every event, ordered by time (stable for equal times). */
  all(): ReadonlyArray<ChaosEvent> {
    return [...this.#events].sort((a, b) => a.at - b.at)
  }

  of<T extends ChaosEvent["type"]>(type: T): Array<EventOf<T>> {
    return this.all().filter((event): event is EventOf<T> => event.type === type)
  }

  get size(): number {
    return this.#events.length
  }

  /** Writes the history as JSON lines, in time order. */
  async write(path: string): Promise<void> {
    await writeFile(path, this.all().map((event) => JSON.stringify(event)).join("\n") + "\n")
  }
}
