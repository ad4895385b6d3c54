/**
 * Which replica leads a provider, as its logs say. Every replica logs "became
 * leader" with the term (`revision`) of its leadership, and terms only grow,
 * so the line with the highest revision names the current leader, even after
 * failovers.
 *
 * Replicas started one after another hand providers over as each joins (the
 * live members share them by rendezvous hashing), so a test that wants the
 * leader that will stay waits for `settledLeader`: every running replica has
 * joined, and the leader is the one rendezvous hashing picks among them.
 */
import { rendezvousOwner } from "@tokenbus/core"
import { type LogLine, logMsg } from "./LogLine.ts"
import type { ReplicaProcess } from "./ReplicaProcess.ts"

export interface LeaderInfo {
  readonly replica: ReplicaProcess
  /** The "became leader" line; `revision` is the leadership's term, which only grows. */
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

const joined = logMsg("joined the cluster")

/** The replica id `replica` last joined the cluster as, if it has joined. */
const memberId = (replica: ReplicaProcess): string | undefined => {
  const line = replica.lines(joined).at(-1)
  return line === undefined ? undefined : String(line["replica"])
}

/** The current leader, once it is the one every running replica, all joined, agrees on; else undefined. */
export const settledLeader = (replicas: ReadonlyArray<ReplicaProcess>, provider: string): LeaderInfo | undefined => {
  const running = replicas.filter((replica) => replica.running)
  const members = running.map(memberId)
  if (members.some((id) => id === undefined)) return undefined
  const leader = currentLeader(replicas, provider)
  if (leader === undefined || !leader.replica.running) return undefined
  return memberId(leader.replica) === rendezvousOwner(provider, members as Array<string>) ? leader : undefined
}
