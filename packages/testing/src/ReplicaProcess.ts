/**
 * tokenbus replicas as real child processes, for the integration tests and
 * the benchmark: `node packages/service/src/bin.ts serve --config <tmp file>`,
 * exactly as an operator runs them. Each replica's stdout (pino JSON lines)
 * is parsed and kept, stderr is kept as text, and callers wait on log lines
 * ("became leader", "adopted the stored token", ...) instead of sleeping.
 *
 * Every replica started here is remembered until `stopAllReplicas()`, which
 * SIGKILLs whatever is still alive and removes the temp config files, so a
 * failing test or an interrupted benchmark cannot leave processes behind.
 * (test/support/useReplicaCleanup.ts registers that with vitest.)
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** Repository root (this file is packages/testing/src/ReplicaProcess.ts). */
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url))
const binPath = join(repoRoot, "packages", "service", "src", "bin.ts")

/** One pino line as a replica writes it. */
export interface LogLine {
  readonly level: number
  readonly time: number
  readonly msg: string
  readonly pid?: number
  readonly replica?: string
  readonly provider?: string
  readonly [field: string]: unknown
}

export type LogPredicate = (line: LogLine) => boolean

/** Matches a line by its `msg`, and optionally by other fields (e.g. `{ provider: "project44" }`). */
export const logMsg = (msg: string, fields: Readonly<Record<string, unknown>> = {}): LogPredicate => (line) =>
  line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value)

export type ReplicaSignal = "SIGKILL" | "SIGTERM" | "SIGSTOP" | "SIGCONT"

export interface ReplicaExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface StartReplicaOptions {
  /** Shown in failure output and used as the NATS connection name unless the config sets one. */
  readonly name?: string
  /** Extra environment (the provider secrets the config refers to with `{ "env": ... }`). */
  readonly env?: Readonly<Record<string, string>>
  /** TOKENBUS_LOG_LEVEL; default "Debug". */
  readonly logLevel?: string
  /** Node options before the script, e.g. `--cpu-prof` to profile the replica. */
  readonly nodeArgs?: ReadonlyArray<string>
}

interface Waiter {
  readonly predicate: LogPredicate
  readonly resolve: (line: LogLine) => void
}

let counter = 0
const live = new Set<ReplicaProcess>()
const all: Array<ReplicaProcess> = []
const tempDirs: Array<string> = []

// Children are not in a process group of their own, so nothing else would
// stop them if the parent process died before stopping them itself.
process.once("exit", () => {
  for (const replica of live) replica.child.kill("SIGKILL")
})

export class ReplicaProcess {
  /** Parsed stdout lines, in arrival order. */
  readonly logs: Array<LogLine> = []
  /** Stdout lines that were not JSON (should stay empty). */
  readonly rawStdout: Array<string> = []
  stderr = ""
  /** Resolves when the process has exited, with its code or signal. Never rejects. */
  readonly exited: Promise<ReplicaExit>
  /** Set once the process has exited. */
  exit: ReplicaExit | undefined
  /** Whether SIGSTOP was sent and not yet followed by SIGCONT. */
  stopped = false

  readonly #waiters = new Set<Waiter>()
  #partial = ""

  readonly name: string
  readonly child: ChildProcess
  readonly configPath: string
  /** The NATS connection name the replica uses (see `/connz` on the monitor port). */
  readonly natsName: string

  constructor(name: string, child: ChildProcess, configPath: string, natsName: string) {
    this.name = name
    this.child = child
    this.configPath = configPath
    this.natsName = natsName
    // "close", not "exit": it comes after stdout and stderr are fully read,
    // so `logs` is complete once `exited` resolves.
    this.exited = new Promise<ReplicaExit>((resolve) => {
      child.once("close", (code, signal) => {
        this.exit = { code, signal }
        live.delete(this)
        resolve(this.exit)
      })
      child.once("error", (error) => {
        this.stderr += `\n[spawn error] ${error.message}\n`
      })
    })
    child.stdout?.setEncoding("utf8")
    child.stdout?.on("data", (chunk: string) => this.#onStdout(chunk))
    child.stderr?.setEncoding("utf8")
    child.stderr?.on("data", (chunk: string) => {
      this.stderr += chunk
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** Alive and not SIGSTOPped. */
  get running(): boolean {
    return this.exit === undefined && !this.stopped
  }

  /** Everything the process wrote, stdout and stderr, as text (for leak scans). */
  get output(): string {
    return [...this.logs.map((line) => JSON.stringify(line)), ...this.rawStdout, this.#partial, this.stderr].join("\n")
  }

  /** Lines matching `predicate`, optionally only from index `from` on. */
  lines(predicate: LogPredicate, from = 0): Array<LogLine> {
    return this.logs.slice(from).filter(predicate)
  }

  hasLog(predicate: LogPredicate, from = 0): boolean {
    return this.logs.slice(from).some(predicate)
  }

  /**
   * The first line (from index `from`) matching `predicate`, waiting up to
   * `timeoutMs` for it. Rejects early if the process exits first.
   */
  waitForLog(predicate: LogPredicate, timeoutMs: number, from = 0): Promise<LogLine> {
    const existing = this.logs.slice(from).find(predicate)
    if (existing !== undefined) return Promise.resolve(existing)
    return new Promise<LogLine>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (line) => {
          cleanup()
          resolve(line)
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms (${this.describe()})`))
      }, timeoutMs)
      const onExit = () => {
        setImmediate(() => {
          const late = this.logs.slice(from).find(predicate)
          cleanup()
          if (late !== undefined) resolve(late)
          else reject(new Error(`${this.name} exited before the expected log line (${this.describe()})`))
        })
      }
      const cleanup = () => {
        clearTimeout(timer)
        this.#waiters.delete(waiter)
        this.child.off("close", onExit)
      }
      this.#waiters.add(waiter)
      if (this.exit !== undefined) onExit()
      else this.child.once("close", onExit)
    })
  }

  /** Sends `signal`; returns the moment (Date.now()) it was sent. No-op on an exited process. */
  kill(signal: ReplicaSignal): number {
    const at = Date.now()
    if (this.exit !== undefined) return at
    this.child.kill(signal)
    if (signal === "SIGSTOP") this.stopped = true
    if (signal === "SIGCONT") this.stopped = false
    return at
  }

  /** Sends `signal` and waits for the process to exit (SIGKILL after `timeoutMs` if it has not). */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM", timeoutMs = 10_000): Promise<ReplicaExit> {
    if (this.exit !== undefined) return this.exit
    if (this.stopped) this.kill("SIGCONT")
    this.kill(signal)
    const timer = setTimeout(() => this.kill("SIGKILL"), timeoutMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /** The replica's logs, for failure output. */
  dump(): string {
    const header = `----- ${this.name} (pid ${this.pid ?? "?"}, ${this.describe()}) -----`
    const stdout = [...this.logs.map((line) => JSON.stringify(line)), ...this.rawStdout, this.#partial].filter((l) => l)
    const stderr = this.stderr.trim() === "" ? [] : ["--- stderr ---", this.stderr.trimEnd()]
    return [header, ...stdout, ...stderr].join("\n")
  }

  describe(): string {
    if (this.exit !== undefined) return `exited: code ${this.exit.code}, signal ${this.exit.signal}`
    return this.stopped ? "stopped (SIGSTOP)" : "running"
  }

  #onStdout(chunk: string): void {
    const text = this.#partial + chunk
    const parts = text.split("\n")
    this.#partial = parts.pop() ?? ""
    for (const part of parts) {
      if (part.trim() === "") continue
      let line: LogLine | undefined
      try {
        const parsed: unknown = JSON.parse(part)
        if (typeof parsed === "object" && parsed !== null && "msg" in parsed) line = parsed as LogLine
      } catch {
        // not JSON
      }
      if (line === undefined) {
        this.rawStdout.push(part)
        continue
      }
      this.logs.push(line)
      for (const waiter of [...this.#waiters]) if (waiter.predicate(line)) waiter.resolve(line)
    }
  }
}

/**
 * Starts one replica with `config` (the JSON config file's content, written
 * to a temp dir). Resolves once it logged "replica ready"; rejects (and kills
 * it) if it does not within `readyTimeoutMs`.
 */
export const startReplica = async (
  config: Readonly<Record<string, unknown>>,
  options: StartReplicaOptions = {},
  readyTimeoutMs = 30_000
): Promise<ReplicaProcess> => {
  const replica = await spawnReplica(config, options)
  try {
    await replica.waitForLog(logMsg("replica ready"), readyTimeoutMs)
  } catch (error) {
    replica.kill("SIGKILL")
    throw new Error(`${(error as Error).message}\n${replica.dump()}`)
  }
  return replica
}

/** Starts `n` replicas at once (so they really race for the lock) and waits until all are ready. */
export const startReplicas = async (
  n: number,
  config: Readonly<Record<string, unknown>>,
  options: StartReplicaOptions & { readonly namePrefix?: string } = {}
): Promise<Array<ReplicaProcess>> => {
  const base = options.namePrefix ?? "replica"
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, index) => startReplica(config, { ...options, name: `${base}-${index + 1}` }))
  )
  const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected")
  if (failed !== undefined) {
    for (const result of results) if (result.status === "fulfilled") result.value.kill("SIGKILL")
    throw failed.reason
  }
  return results.map((result) => (result as PromiseFulfilledResult<ReplicaProcess>).value)
}

/** Spawns without waiting for readiness. */
export const spawnReplica = async (
  config: Readonly<Record<string, unknown>>,
  options: StartReplicaOptions = {}
): Promise<ReplicaProcess> => {
  const name = options.name ?? `replica-${++counter}`
  const dir = await mkdtemp(join(tmpdir(), "tokenbus-replica-"))
  tempDirs.push(dir)
  const nats = (config["nats"] ?? {}) as Record<string, unknown>
  // A distinct NATS connection name per replica lets tests find its connection in `/connz`.
  const natsName = typeof nats["name"] === "string" ? nats["name"] : `${String(config["prefix"] ?? "tokenbus")}-${name}`
  const withName = { ...config, nats: { ...nats, name: natsName } }
  const configPath = join(dir, "config.json")
  await writeFile(configPath, JSON.stringify(withName, null, 2))
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), binPath, "serve", "--config", configPath], {
    cwd: repoRoot,
    env: { ...process.env, TOKENBUS_LOG_LEVEL: options.logLevel ?? "Debug", ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const replica = new ReplicaProcess(name, child, configPath, natsName)
  live.add(replica)
  all.push(replica)
  return replica
}

/** Every replica started since the last `stopAllReplicas()`, dead or alive. */
export const startedReplicas = (): ReadonlyArray<ReplicaProcess> => all

/** SIGKILLs every replica still alive, waits for them, and removes the temp config dirs. */
export const stopAllReplicas = async (): Promise<void> => {
  const remaining = [...live]
  for (const replica of remaining) replica.kill("SIGKILL")
  await Promise.all(remaining.map((replica) => replica.exited))
  all.length = 0
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
}

/** All replicas' logs, for failure output. */
export const dumpReplicaLogs = (replicas: ReadonlyArray<ReplicaProcess> = all): string =>
  replicas.map((replica) => replica.dump()).join("\n")
