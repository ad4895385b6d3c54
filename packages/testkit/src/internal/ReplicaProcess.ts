/**
 * One tokenbus replica as a child process: `node <tokenbus> serve --config
 * <file>`, as an operator runs it. Its stdout (pino JSON lines) is parsed and
 * kept, its stderr kept as text, so the kit can wait for log lines ("replica
 * ready", "became leader") instead of sleeping, and can show what a replica
 * said when it failed.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { guardChild } from "./Leftovers.ts"

/** One pino line as a replica writes it. */
export interface LogLine {
  readonly msg: string
  readonly provider?: string
  readonly [field: string]: unknown
}

export type LogPredicate = (line: LogLine) => boolean

export const logMsg = (msg: string, provider?: string): LogPredicate => (line) =>
  line.msg === msg && (provider === undefined || line.provider === provider)

export interface SpawnReplicaOptions {
  readonly name: string
  readonly bin: string
  readonly configPath: string
  readonly cwd: string
  readonly logLevel: string
}

const parse = (text: string): LogLine | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && "msg" in value ? (value as LogLine) : undefined
  } catch {
    return undefined
  }
}

export class ReplicaProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly logs: Array<LogLine> = []
  /** Everything written, stdout and stderr, line by line. */
  readonly output: Array<string> = []
  readonly exited: Promise<void>
  exit: string | undefined
  readonly #listeners = new Set<() => void>()
  #partial = ""

  constructor(options: SpawnReplicaOptions) {
    this.name = options.name
    this.child = spawn(process.execPath, [options.bin, "serve", "--config", options.configPath], {
      cwd: options.cwd,
      env: { ...process.env, TOKENBUS_LOG_LEVEL: options.logLevel },
      stdio: ["ignore", "pipe", "pipe"]
    })
    guardChild(this.child)
    this.exited = new Promise((resolve) => {
      // "close" comes after stdout and stderr are read to their end.
      this.child.once("close", (code, signal) => {
        this.exit = signal === null ? `exit code ${code}` : `signal ${signal}`
        this.#notify()
        resolve()
      })
      this.child.once("error", (error) => {
        this.output.push(`cannot start: ${error.message}`)
      })
    })
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => this.#onStdout(chunk))
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.output.push(...chunk.trimEnd().split("\n"))
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** The first line matching `predicate`; rejects after `timeoutMillis`, or when the process exits first. */
  waitFor(predicate: LogPredicate, timeoutMillis: number, what: string): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.logs.find(predicate)
        if (line === undefined && this.exit === undefined) return
        done()
        if (line !== undefined) resolve(line)
        else reject(new Error(`${this.name} ended (${this.exit}) before it logged "${what}"`))
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${this.name} did not log "${what}" within ${timeoutMillis} ms`))
      }, timeoutMillis)
      const done = () => {
        clearTimeout(timer)
        this.#listeners.delete(check)
      }
      this.#listeners.add(check)
      check()
    })
  }

  /** SIGTERM (a clean handover of its leadership), SIGKILL after `graceMillis`; resolves once it has exited. */
  async stop(graceMillis: number): Promise<void> {
    if (this.exit !== undefined) return
    this.child.kill("SIGTERM")
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMillis)
    await this.exited
    clearTimeout(timer)
  }

  /** What it wrote, for an error message: the last `lines` lines. */
  tail(lines: number): string {
    const header = `--- ${this.name} (pid ${this.pid ?? "?"}, ${this.exit ?? "running"}) ---`
    return [header, ...this.output.slice(-lines)].join("\n")
  }

  #onStdout(chunk: string): void {
    const parts = (this.#partial + chunk).split("\n")
    this.#partial = parts.pop() ?? ""
    for (const part of parts) {
      if (part.trim() === "") continue
      this.output.push(part)
      const line = parse(part)
      if (line !== undefined) this.logs.push(line)
    }
    this.#notify()
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener()
  }
}
