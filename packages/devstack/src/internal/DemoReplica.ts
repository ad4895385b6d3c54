/**
 * One replica of the demo as a child process (`tokenbus serve --config
 * <file>`, as an operator runs it), so that killing the leader is a real
 * SIGKILL. Its JSON log lines go to the demo's log file, never to the
 * terminal, and are kept parsed so the story waits for what a replica says
 * ("joined the cluster", "became leader") instead of sleeping. It is
 * stopped when the scope closes, and SIGKILLed if the demo's own process
 * exits first, so no replica outlives the demo.
 */
import { type ChildProcess, spawn } from "node:child_process"
import type { WriteStream } from "node:fs"
import { Effect, Option, Schema, type Scope } from "effect"
import { DemoReplicaError } from "../DemoReplicaError.ts"

/** How to run the `tokenbus` command: the program and the arguments before `serve`. */
export interface ReplicaCommand {
  readonly command: string
  readonly args: ReadonlyArray<string>
}


const LogLine = Schema.fromJsonString(Schema.Struct({
  msg: Schema.String,
  replica: Schema.optionalKey(Schema.String),
  provider: Schema.optionalKey(Schema.String),
  term: Schema.optionalKey(Schema.Number),
  port: Schema.optionalKey(Schema.Number)
}))
export type LogLine = typeof LogLine.Type

const decodeLine = Schema.decodeUnknownOption(LogLine)

const STOP_GRACE_MILLIS = 3_000

export class DemoReplica {
  readonly lines: Array<LogLine> = []
  exit: string | undefined
  readonly name: string
  readonly child: ChildProcess
  readonly #listeners = new Set<() => void>()

  constructor(name: string, child: ChildProcess, log: WriteStream) {
    this.name = name
    this.child = child
    let partial = ""
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n")
      partial = parts.pop() ?? ""
      for (const part of parts) {
        if (part.trim() === "") continue
        if (!log.writableEnded) log.write(part + "\n")
        Option.map(decodeLine(part), (line) => this.lines.push(line))
      }
      this.#notify()
    })
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      if (!log.writableEnded) log.write(`[${name} stderr] ${chunk}`)
    })
    child.once("exit", (code, signal) => {
      this.exit = signal === null ? `exit code ${code}` : `signal ${signal}`
      this.#notify()
    })
    child.once("error", (error) => {
      this.exit = `cannot start: ${error.message}`
      this.#notify()
    })
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get alive(): boolean {
    return this.exit === undefined
  }

  /** The first line matching `predicate`, waiting up to `timeoutMillis`; fails if the replica exits first. */
  waitFor(what: string, predicate: (line: LogLine) => boolean, timeoutMillis: number) {
    return Effect.callback<LogLine, DemoReplicaError>((resume) => {
      const check = () => {
        const line = this.lines.find(predicate)
        if (line !== undefined) resume(Effect.succeed(line))
        else if (this.exit !== undefined) {
          resume(Effect.fail(new DemoReplicaError({ message: `${this.name} ended (${this.exit}) before "${what}"` })))
        } else return
        this.#listeners.delete(check)
      }
      this.#listeners.add(check)
      check()
      return Effect.sync(() => void this.#listeners.delete(check))
    }).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMillis,
        orElse: () => Effect.fail(new DemoReplicaError({ message: `${this.name} did not log "${what}" in time` }))
      })
    )
  }

  /** The latest term this replica logged "became leader" with for `provider`, if any. */
  latestTerm(provider: string): number | undefined {
    const terms = this.lines.filter((line) => line.msg === "became leader" && line.provider === provider)
    return terms.at(-1)?.term
  }

  /** SIGKILL (a crash: nothing handed over) or SIGTERM (a clean stop, SIGKILL after a grace); waits for the exit. */
  stop(signal: "SIGKILL" | "SIGTERM") {
    return Effect.callback<void>((resume) => {
      if (this.exit !== undefined) return resume(Effect.void)
      const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MILLIS)
      this.child.once("exit", () => {
        clearTimeout(timer)
        resume(Effect.void)
      })
      this.child.kill(signal)
    })
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener()
  }
}

/** Starts replica `name` from `configPath`; stopped (SIGTERM) when the scope closes, if still running. */
export const acquireReplica = (
  name: string,
  command: ReplicaCommand,
  configPath: string,
  log: WriteStream
): Effect.Effect<DemoReplica, never, Scope.Scope> =>
  Effect.gen(function*() {
    const replica = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(command.command, [...command.args, "serve", "--config", configPath], {
          // JSON lines whatever the terminal; Info is enough for the story and keeps the log short.
          env: { ...process.env, TOKENBUS_LOG_LEVEL: "Info" },
          stdio: ["ignore", "pipe", "pipe"]
        })
        return new DemoReplica(name, child, log)
      }),
      (replica) => replica.stop("SIGTERM")
    )
    // Nothing else would stop the child if this process exited with the scope still open.
    const killOnExit = () => replica.child.kill("SIGKILL")
    yield* Effect.acquireRelease(
      Effect.sync(() => process.once("exit", killOnExit)),
      () => Effect.sync(() => process.off("exit", killOnExit))
    )
    return replica
  })
