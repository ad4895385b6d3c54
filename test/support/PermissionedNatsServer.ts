// A nats-server of its own for a test about permissions: started from a
// configuration text (accounts, users and their permissions), with the
// environment that text refers to (`$SOME_PASSWORD`), on a free port of
// 127.0.0.1 and a temp store. It keeps every line the server logs, because
// the permission violations it logs are what such a test checks: which user
// was refused what, and that a role which must work was refused nothing.
import { spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePorts, waitUntil } from "@tokenbus/testing"

export interface PermissionViolation {
  /** The name the connection gave (nats.js `name`). */
  readonly connection: string
  readonly user: string
  readonly operation: "publish" | "subscribe"
  readonly subject: string
  /** The whole log line, for failure messages. */
  readonly line: string
}

export interface PermissionedNatsServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string
  /** Every line logged so far. */
  readonly lines: () => ReadonlyArray<string>
  /** The violations logged so far, of `user` alone when given. */
  readonly violations: (user?: string) => ReadonlyArray<PermissionViolation>
  /** SIGTERM (SIGKILL after 5 s), then removes the store. Safe to call more than once. */
  readonly stop: () => Promise<void>
}

export interface PermissionedNatsServerOptions {
  /** The configuration file's content. */
  readonly config: string
  /** Variables the configuration reads from the environment. */
  readonly env?: Readonly<Record<string, string>>
  /** JetStream on, its store in the server's temp directory. */
  readonly jetstream?: boolean
}

// `[ERR] 127.0.0.1:5000 - cid:6 - "v3.4.0:nats.js:<name>" - "<account>/user:<user>" - Publish Violation -
// Subject "<subject>"` (one line)
const violationPattern = new RegExp(
  String.raw`\[ERR\] .* - "([^"]*)" - "[^"/]+/user:([^"]+)" - (Publish|Subscription) Violation - Subject "([^"]+)"`
)

/**
 * The violation a log line reports, undefined for a line that reports none.
 * A line that names a violation in a form this does not read throws: a check
 * that a role was refused nothing must not pass because a format changed.
 */
export const parseViolation = (line: string): PermissionViolation | undefined => {
  if (!/\[ERR\].* Violation - /.test(line)) return undefined
  const match = violationPattern.exec(line)
  if (match === null) throw new Error(`a permission violation in a form this test cannot read: ${line}`)
  const [, client = "", user = "", operation, subject = ""] = match
  // The client is `<version>:<language>[:<name>]`.
  const connection = client.split(":").slice(2).join(":")
  return { connection, user, operation: operation === "Publish" ? "publish" : "subscribe", subject, line }
}

const binary = (): string => process.env["NATS_SERVER_BIN"] ?? "nats-server"

export const startPermissionedNatsServer = async (
  options: PermissionedNatsServerOptions
): Promise<PermissionedNatsServer> => {
  const dir = await mkdtemp(join(tmpdir(), "tokenbus-permissions-"))
  const [port] = await freePorts(1)
  // Flags, not a block in the text: a configuration written as one JSON object takes nothing beside it.
  const jetstream = options.jetstream === true ? ["-js", "-sd", join(dir, "store")] : []
  const configPath = join(dir, "server.conf")
  await writeFile(configPath, options.config)
  // Command-line flags win over the file: the address and port are the test's, whatever the text says.
  const child = spawn(binary(), ["-c", configPath, "-a", "127.0.0.1", "-p", String(port), ...jetstream], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "ignore", "pipe"]
  })
  const lines: Array<string> = []
  let partial = ""
  child.stderr.setEncoding("utf8")
  child.stderr.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n")
    partial = parts.pop() ?? ""
    lines.push(...parts.filter((line) => line.trim() !== ""))
  })
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()))
  const killOnExit = () => child.kill("SIGKILL")
  process.once("exit", killOnExit)
  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
      child.kill("SIGTERM")
      await exited
      clearTimeout(timer)
      process.off("exit", killOnExit)
      await rm(dir, { recursive: true, force: true })
    })())
  try {
    await waitUntil(
      () => child.exitCode !== null || lines.some((line) => line.includes("Server is ready")),
      30_000,
      "nats-server did not say it is ready"
    )
    const last = lines.slice(-5).join("\n")
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${last}`)
  } catch (error) {
    await stop()
    throw error
  }
  const violations = (user?: string) =>
    lines.flatMap((line) => {
      const violation = parseViolation(line)
      return violation === undefined || (user !== undefined && violation.user !== user) ? [] : [violation]
    })
  return { url: `nats://127.0.0.1:${port}`, lines: () => lines, violations, stop }
}
