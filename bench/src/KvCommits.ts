/**
 * When a provider's token was committed, as seen from outside: a watch on the
 * `<prefix>-tokens` KV bucket, stamped with performance.now() on arrival.
 * The commit is the moment a new token exists for everyone, so scenarios 3
 * and 4 measure delivery from it; the upstream's own latency comes before it
 * and is not part of what tokenbus adds.
 */
import { Kvm } from "@nats-io/kv"
import type { NatsConnection } from "@nats-io/transport-node"

export interface Commit {
  readonly revision: number
  /** performance.now() when the watch delivered it. */
  readonly at: number
}

export interface KvCommits {
  /** The first commit with a revision above `revision`; rejects after `timeoutMillis`. */
  readonly after: (revision: number, timeoutMillis?: number) => Promise<Commit>
  readonly all: () => ReadonlyArray<Commit>
  readonly stop: () => void
}

interface Waiter {
  readonly revision: number
  readonly resolve: (commit: Commit) => void
}

export const watchCommits = async (nc: NatsConnection, bucket: string, key: string): Promise<KvCommits> => {
  const kv = await new Kvm(nc).open(bucket)
  const iterator = await kv.watch({ key, include: "updates" })
  const commits: Array<Commit> = []
  const waiters = new Set<Waiter>()

  void (async () => {
    for await (const entry of iterator) {
      if (entry.operation !== "PUT") continue
      const commit = { revision: entry.revision, at: performance.now() }
      commits.push(commit)
      for (const waiter of [...waiters]) if (commit.revision > waiter.revision) waiter.resolve(commit)
    }
  })()

  const after = (revision: number, timeoutMillis = 15_000) => {
    const seen = commits.find((commit) => commit.revision > revision)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise<Commit>((resolve, reject) => {
      const waiter: Waiter = {
        revision,
        resolve: (commit) => {
          clearTimeout(timer)
          waiters.delete(waiter)
          resolve(commit)
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`no commit to ${bucket}/${key} after revision ${revision} within ${timeoutMillis} ms`))
      }, timeoutMillis)
      waiters.add(waiter)
    })
  }

  return { after, all: () => commits, stop: () => iterator.stop() }
}
