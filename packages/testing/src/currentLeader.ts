/**
 * Which replica leads a provider, as its logs say. Every replica logs "became
 * leader" with the lease's KV revision, and revisions only grow, so the line
 * with the highest revision names the current leader, even after failovers.
 */
import { type LogLine, logMsg } from "./LogLine.ts"
import type { ReplicaProcess } from "./ReplicaProcess.ts"

export interface LeaderInfo {
  readonly replica: ReplicaProcess
  /** The "became leader" line; `revision` is the lease's KV revision, which only grows. */
  readonly line: LogLine
  readonly revision: number
}

export const currentLeader = (replicas: ReadonlyArray<ReplicaProcess>, provider: string): LeaderInfo | undefined => {
  const becameLeader = logMsg("became leader", { provider })
  let best: LeaderInfo | undefined
  for (const replica of replicas) {
    for (const line of replica.lines(becameLeader)) {
      const revision = Number(line["revision"])
      if (best === undefined || revision > best.revision) best = { replica, line, revision }
    }
  }
  return best
}
