// The users of docs/permissions.md as a test logs in with them: each one's
// name, the environment variable its password comes from, and the inbox
// prefix its permissions allow; random passwords for a run; raw nats.js
// connections as any of them, with what the server refuses them recorded;
// and the `tokenbus` command run as a child process, as an operator runs it.
import { randomBytes } from "node:crypto"
import { connect, type NatsConnection } from "@nats-io/transport-node"

export interface RoleUser {
  readonly user: string
  readonly passwordVariable: string
  readonly inboxPrefix: string
}

const role = (user: string, passwordVariable: string): RoleUser => ({
  user,
  passwordVariable,
  inboxPrefix: `_INBOX_${user}`
})

/** The users of the page's configuration block. */
export const roles = {
  replica: role("tokenbus-replica", "TOKENBUS_REPLICA_PASSWORD"),
  /** A consumer of every provider. */
  orders: role("orders", "ORDERS_PASSWORD"),
  /** A consumer of project44 only. */
  tracking: role("tracking", "TRACKING_PASSWORD"),
  operator: role("tokenbus-operator", "TOKENBUS_OPERATOR_PASSWORD")
} as const

/** A random password for each variable. */
export const randomPasswords = (variables: ReadonlyArray<string>): Readonly<Record<string, string>> =>
  Object.fromEntries(variables.map((variable) => [variable, `pw-${randomBytes(12).toString("hex")}`]))

export interface RoleConnection {
  readonly nc: NatsConnection
  /** The messages of the permission errors the server sent this connection, in arrival order. */
  readonly refusals: Array<string>
}

/** A raw connection as `user`, named `name` (the server's log names it). */
export const connectAs = async (
  url: string,
  user: RoleUser,
  passwords: Readonly<Record<string, string>>,
  name: string
): Promise<RoleConnection> => {
  const nc = await connect({
    servers: url,
    name,
    user: user.user,
    pass: passwords[user.passwordVariable] ?? "",
    inboxPrefix: user.inboxPrefix
  })
  const refusals: Array<string> = []
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "error") refusals.push(status.error.message)
    }
  })()
  return { nc, refusals }
}

/**
 * Subscribes to `subject`; resolves with the error the server closed the
 * subscription with, or "not refused" if it still stands after `waitMillis`.
 */
export const subscriptionRefusal = async (nc: NatsConnection, subject: string, waitMillis = 1000): Promise<string> => {
  const subscription = nc.subscribe(subject)
  const outcome = await Promise.race([
    subscription.closed.then((error) => (error instanceof Error ? error.message : "closed without an error")),
    new Promise<string>((resolve) => setTimeout(() => resolve("not refused"), waitMillis))
  ])
  subscription.unsubscribe()
  return outcome
}

/** The rejection of `promise` as `{ name, message, millis }`; throws if it resolves. */
export const rejectionOf = async (promise: Promise<unknown>) => {
  const started = performance.now()
  try {
    await promise
  } catch (error) {
    const { name, message } = error instanceof Error ? error : { name: "non-error", message: String(error) }
    const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined
    return { name, tag, message, millis: performance.now() - started }
  }
  throw new Error("expected a rejection")
}

export { runCli } from "./runCli.ts"
