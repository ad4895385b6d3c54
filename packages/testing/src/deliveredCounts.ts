/**
 * How many messages the NATS server delivered to each replica's subscription
 * on a subject, from its monitor (`/connz?subs=detail`). Which replica of the
 * queue group answers a request is not visible in the reply; the server's
 * own counters say it. Replicas are matched by their connection name.
 */
import type { ReplicaProcess } from "./ReplicaProcess.ts"

interface ConnzSubscription {
  readonly subject: string
  readonly qgroup?: string
  readonly msgs: number
}

interface ConnzConnection {
  readonly name?: string
  readonly subscriptions_list_detail?: ReadonlyArray<ConnzSubscription>
}

/** Per replica, the messages delivered to its subscription on `subject`; undefined for one with no connection. */
export const deliveredCounts = async (
  monitorPort: number,
  replicas: ReadonlyArray<ReplicaProcess>,
  subject: string
): Promise<Map<ReplicaProcess, number | undefined>> => {
  const response = await fetch(`http://127.0.0.1:${monitorPort}/connz?subs=detail&limit=4096`, {
    signal: AbortSignal.timeout(5000)
  })
  const body = (await response.json()) as { readonly connections?: ReadonlyArray<ConnzConnection> }
  const counts = new Map<ReplicaProcess, number | undefined>()
  for (const replica of replicas) {
    const connection = (body.connections ?? []).find((c) => c.name === replica.natsName)
    const subscription = connection?.subscriptions_list_detail?.find((s) => s.subject === subject)
    counts.set(replica, connection === undefined ? undefined : (subscription?.msgs ?? 0))
  }
  return counts
}
