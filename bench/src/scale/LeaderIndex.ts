/**
 * Which replica leads each provider, as the replicas' logs say, kept up to
 * date by reading only the lines logged since the last look: the scale
 * scenario asks it every few hundred milliseconds about up to 10,000
 * providers, which `currentLeader` of @tokenbus/testing (a scan of every log
 * per provider) could not answer in time. Like `currentLeader`, the "became
 * leader" line with the highest term names the current leader (terms are
 * revisions of the leases bucket, which only grow), but only among the
 * leaderships that have not logged "stepped down" since: a leader that took
 * a provider over and handed it on within moments would otherwise keep
 * naming itself, while the one still leading holds a lower term (it learns
 * of the higher one at its next write, and takes a fresh term then).
 */
import type { LogLine, ReplicaProcess } from "@tokenbus/testing"

export interface Leadership {
  readonly replica: ReplicaProcess
  readonly term: number
  /** When the replica logged it (epoch ms, the log line's `time`). */
  readonly at: number
}

export class LeaderIndex {
  readonly #replicas: ReadonlyArray<ReplicaProcess>
  readonly #read = new Map<ReplicaProcess, number>()
  /** Per provider, the leaderships that have not stepped down, as logged. */
  readonly #leaders = new Map<string, Array<Leadership>>()
  /**
   * Providers known to hold a token: some replica logged "minted and committed a token" or "adopted the stored
   * token" for it. Both count, since a leader interrupted right after its commit never logs the first line.
   */
  readonly #withToken = new Set<string>()
  /** Per provider, who logged one of those two lines and when: a new leader serving it, after a failover. */
  readonly #held = new Map<string, Array<{ readonly replica: ReplicaProcess; readonly at: number }>>()
  #lastFirstTokenAt = 0
  #lastLeadershipAt = 0
  #leadershipsTaken = 0

  constructor(replicas: ReadonlyArray<ReplicaProcess>) {
    this.#replicas = replicas
  }

  /** Reads the lines logged since the last call. */
  refresh(): this {
    for (const replica of this.#replicas) {
      const from = this.#read.get(replica) ?? 0
      const logs = replica.logs
      for (let index = from; index < logs.length; index++) this.#take(replica, logs[index] as LogLine)
      this.#read.set(replica, logs.length)
    }
    return this
  }

  leaderOf(provider: string): Leadership | undefined {
    let best: Leadership | undefined
    for (const leadership of this.#leaders.get(provider) ?? []) {
      if (best === undefined || leadership.term > best.term) best = leadership
    }
    return best
  }

  /** How many distinct providers are known to hold a token. */
  get tokenCount(): number {
    return this.#withToken.size
  }

  /** When the last of them was first seen holding one (epoch ms), 0 before any. */
  get lastFirstTokenAt(): number {
    return this.#lastFirstTokenAt
  }

  /** When the last "became leader" line was logged (epoch ms), 0 before any. */
  get lastLeadershipAt(): number {
    return this.#lastLeadershipAt
  }

  /** How many "became leader" lines have been read: what moved while the cluster should have been idle. */
  get leadershipsTaken(): number {
    return this.#leadershipsTaken
  }

  /** Those of `providers` not known to hold a token yet. */
  withoutToken(providers: ReadonlyArray<string>): Array<string> {
    return providers.filter((provider) => !this.#withToken.has(provider))
  }

  /**
   * When `provider` was first held (minted or adopted, epoch ms) at or after `since` by a replica other than
   * `except`: the moment a new leader serves it, fenced and answering mint requests, after `except` died.
   */
  heldSince(provider: string, since: number, except: ReplicaProcess): number | undefined {
    let first: number | undefined
    for (const held of this.#held.get(provider) ?? []) {
      if (held.at >= since && held.replica !== except && (first === undefined || held.at < first)) first = held.at
    }
    return first
  }

  /** The providers `replica` leads now. */
  ledBy(replica: ReplicaProcess): Array<string> {
    const providers: Array<string> = []
    for (const provider of this.#leaders.keys()) if (this.leaderOf(provider)?.replica === replica) providers.push(provider)
    return providers
  }

  #take(replica: ReplicaProcess, line: LogLine): void {
    const provider = line.provider
    if (provider === undefined) return
    const holds = line.msg === "minted and committed a token" || line.msg === "adopted the stored token"
    if (holds) {
      const held = this.#held.get(provider)
      if (held === undefined) this.#held.set(provider, [{ replica, at: line.time }])
      else held.push({ replica, at: line.time })
    }
    if (holds && !this.#withToken.has(provider)) {
      this.#withToken.add(provider)
      this.#lastFirstTokenAt = Math.max(this.#lastFirstTokenAt, line.time)
    }
    const term = Number(line["term"] ?? line["revision"])
    const active = this.#leaders.get(provider) ?? []
    if (line.msg === "stepped down") {
      this.#leaders.set(provider, active.filter((leadership) => leadership.replica !== replica || leadership.term !== term))
    }
    if (line.msg !== "became leader") return
    this.#lastLeadershipAt = Math.max(this.#lastLeadershipAt, line.time)
    this.#leadershipsTaken++
    this.#leaders.set(provider, [...active, { replica, term, at: line.time }])
  }
}
