/**
 * One tokenbus replica running as a child process, as the integration tests
 * and the benchmark see it: its stdout (pino JSON lines) parsed and kept, its
 * stderr kept as text, signals to send it, and waits on log lines ("became
 * leader", "adopted the stored token", ...) instead of sleeps. Starting
 * replicas, and making sure none outlives its caller, is startReplica.ts.
 */
import type { ChildProcess } from "node:child_process"
import { type LogLine, type LogPredicate, parseLogLine } from "./LogLine.ts"

export type ReplicaSignal = "SIGKILL" | "SIGTERM" | "SIGSTOP" | "SIGCONT" | "SIGUSR2"

export interface ReplicaExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

interface Waiter {
  readonly predicate: LogPredicate
  readonly resolve: (line: LogLine) => void
}

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
  /** Date.now() when it was spawned (log lines' `time` is on the same clock): the bench's time to ready. */
  readonly spawnedAt = Date.now()

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
      const line = parseLogLine(part)
      if (line === undefined) {
        this.rawStdout.push(part)
        continue
      }
      this.logs.push(line)
      for (const waiter of [...this.#waiters]) if (waiter.predicate(line)) waiter.resolve(line)
    }
  }
}
