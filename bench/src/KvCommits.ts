/**
 * When a provider's token was committed, as seen from outside: a watch on the
 * `<prefix>-tokens` KV bucket, stamped with performance.now() on arrival.
 * The commit is the moment a new token exists for everyone, so scenarios 3
 * and 4 measure delivery from it; the upstream's own latency comes before it
 * and is not part of what tokenbus adds. A token's version is not the
 * revision of its write (the leader writes the same key for its fence and
 * budget too), so a commit is a write whose value holds a token version not
 * seen before; the version is plain JSON even where storage seals the access
 * token.
 */
import { Kvm } from "@nats-io/kv"
import type { NatsConnection } from "@nats-io/transport-node"

export interface Commit {
  /** The committed token's version. */
  readonly version: number
  /** performance.now() when the watch delivered it. */
  readonly at: number
}

export interface KvCommits {
  /** The first commit of a version above `version`; rejects after `timeoutMillis`. */
  readonly after: (version: number, timeoutMillis?: number) => Promise<Commit>
  readonly all: () => ReadonlyArray<Commit>
  readonly stop: () => void
}

interface Waiter {
  readonly version: number
  readonly resolve: (commit: Commit) => void
}

/** The token version a provider state holds, if it holds a token (PROTOCOL.md: the state in KV). */
const tokenVersion = (json: string): number | undefined => {
  try {
    const version = (JSON.parse(json) as { readonly token?: { readonly version?: unknown } }).token?.version
    return typeof version === "number" ? version : undefined
  } catch {
    return undefined
  }
}

export const watchCommits = async (nc: NatsConnection, bucket: string, key: string): Promise<KvCommits> => {
  const kv = await new Kvm(nc).open(bucket)
  const iterator = await kv.watch({ key, include: "updates" })
  const commits: Array<Commit> = []
  const waiters = new Set<Waiter>()

  void (async () => {
    let latest = 0
    for await (const entry of iterator) {
      if (entry.operation !== "PUT") continue
      const at = performance.now()
      const version = tokenVersion(entry.string())
      if (version === undefined || version <= latest) continue
      latest = version
      const commit = { version, at }
      commits.push(commit)
      for (const waiter of [...waiters]) if (commit.version > waiter.version) waiter.resolve(commit)
    }
  })()

  const after = (version: number, timeoutMillis = 15_000) => {
    const seen = commits.find((commit) => commit.version > version)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise<Commit>((resolve, reject) => {
      const waiter: Waiter = {
        version,
        resolve: (commit) => {
          clearTimeout(timer)
          waiters.delete(waiter)
          resolve(commit)
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`no commit to ${bucket}/${key} of a version after ${version} within ${timeoutMillis} ms`))
      }, timeoutMillis)
      waiters.add(waiter)
    })
  }

  return { after, all: () => commits, stop: () => iterator.stop() }
}
