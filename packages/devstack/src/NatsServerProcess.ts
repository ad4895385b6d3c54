/**
 * A local `nats-server` with JetStream as a child process: the NATS that
 * `tokenbus dev`, the integration tests and the bench run on. The binary is
 * `$NATS_SERVER_BIN` (scripts/start, scripts/test and scripts/bench install
 * Debian's) or `nats-server` on the PATH. It listens on 127.0.0.1 only, on
 * the ports asked for or on ports it picks itself, keeps its JetStream store
 * in a temp dir, and counts as started once it logged "Server is ready" and
 * its monitor reports JetStream healthy. When the scope closes it is stopped
 * (SIGTERM, SIGKILL after 5 s) and its store removed.
 */
import { type ChildProcess, type ChildProcessByStdio, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Readable } from "node:stream"
import { Effect, type Scope } from "effect"
import { followLog, type LogTail } from "./internal/LogTail.ts"
import { readPortsFile } from "./internal/PortsFile.ts"
import { waitForJetStream } from "./JetStreamHealth.ts"
import { NatsServerError } from "./NatsServerError.ts"

export interface NatsServerOptions {
  /** Client port; default: one the server picks. */
  readonly port?: number
  /** Monitoring (HTTP) port; default: one the server picks. */
  readonly monitorPort?: number
  /** How long to wait for readiness, then again for JetStream's health; default 30 s each. */
  readonly startTimeoutMillis?: number
  /**
   * A nats-server configuration file (`-c`) for what has no flag here:
   * authorization, accounts, operator mode, TLS. The settings above are
   * flags, which take precedence over the file.
   */
  readonly configFile?: string
}

export interface NatsServerProcess {
  /** nats://127.0.0.1:<port> */
  readonly url: string
  readonly port: number
  readonly monitorPort: number
  readonly pid: number
}

const STOP_GRACE_MILLIS = 5000

/** The binary, read when a server starts (tests change the variable). */
const binary = (): string => process.env["NATS_SERVER_BIN"] ?? "nats-server"

const spawnServer = (bin: string, dir: string, options: NatsServerOptions) => {
  const args = [
    ...(options.configFile === undefined ? [] : ["-c", options.configFile]),
    "-js",
    "-a",
    "127.0.0.1",
    // -1: the server picks a free port and reports it in the ports file.
    "-p",
    String(options.port ?? -1),
    "-m",
    String(options.monitorPort ?? -1),
    "-sd",
    join(dir, "store"),
    "--ports_file_dir",
    dir
  ]
  return spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] })
}

const hasExited = (child: ChildProcess): boolean =>
  child.pid === undefined || child.exitCode !== null || child.signalCode !== null

const stopServer = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (hasExited(child)) return resume(Effect.void)
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MILLIS)
    child.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })

const acquireChild = (bin: string, dir: string, options: NatsServerOptions) =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(Effect.sync(() => spawnServer(bin, dir, options)), stopServer)
    // Nothing else would stop the server if this process exited with the scope still open.
    const killOnExit = () => child.kill("SIGKILL")
    yield* Effect.acquireRelease(
      Effect.sync(() => process.once("exit", killOnExit)),
      () => Effect.sync(() => process.off("exit", killOnExit))
    )
    return child
  })

/** Resolves on "Server is ready"; fails if the process cannot start or exits first. */
const awaitReady = (bin: string, child: ChildProcessByStdio<null, null, Readable>, timeoutMillis: number) =>
  Effect.callback<LogTail, NatsServerError>((resume) => {
    let ready = false
    const log = followLog(child.stderr, (line) => {
      if (ready || !line.includes("Server is ready")) return
      ready = true
      resume(Effect.succeed(log))
    })
    child.once("error", (error) =>
      resume(Effect.fail(new NatsServerError({ message: `cannot start ${bin}: ${error.message}` }))))
    // "close", not "exit": it comes once stderr is fully read, so the last line is the server's last word.
    child.once("close", (code, signal) =>
      resume(Effect.fail(new NatsServerError({ message: `${bin} exited (${code ?? signal}): ${log.lastLine()}` }))))
  }).pipe(
    Effect.timeoutOrElse({
      duration: timeoutMillis,
      orElse: () => Effect.fail(new NatsServerError({ message: `${bin} was not ready within ${timeoutMillis} ms` }))
    })
  )

/** Starts a nats-server with JetStream on 127.0.0.1; stopped, and its store removed, when the scope closes. */
export const acquireNatsServer = (
  options: NatsServerOptions = {}
): Effect.Effect<NatsServerProcess, NatsServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const timeoutMillis = options.startTimeoutMillis ?? 30_000
    const bin = binary()
    // Acquired first, released last: the store goes once the server has stopped.
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(join(tmpdir(), "tokenbus-nats-"))),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )
    const child = yield* acquireChild(bin, dir, options)
    yield* awaitReady(bin, child, timeoutMillis)
    const pid = child.pid ?? -1
    const { port, monitorPort } = yield* readPortsFile(dir, pid)
    yield* waitForJetStream(monitorPort, timeoutMillis)
    return { url: `nats://127.0.0.1:${port}`, port, monitorPort, pid } satisfies NatsServerProcess
  })
