/**
 * Starts and stops the echo responders of scenario 1 (bin/echo.ts), the
 * transport's own limit that tokenbus is compared against. Each is a child
 * process like a replica; the bench kills any left over when it exits.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const script = fileURLToPath(new URL("./bin/echo.ts", import.meta.url))
const live = new Set<ChildProcess>()

process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL")
})

export interface EchoResponder {
  readonly pid: number
  readonly name: string
  stop(): Promise<void>
}

export interface EchoOptions {
  readonly natsUrl: string
  /** May hold wildcards, as a replica's `<prefix>.token.*.get` does. */
  readonly subject: string
  readonly queue: string
  readonly replyBytes: number
  readonly name: string
  /** Node options before the script, e.g. `--cpu-prof` (as the replicas get them). */
  readonly nodeArgs?: ReadonlyArray<string>
}

export const startEchoResponder = (options: EchoOptions, readyTimeoutMillis = 15_000): Promise<EchoResponder> =>
  new Promise((resolve, reject) => {
    const args = [script, options.natsUrl, options.subject, options.queue, String(options.replyBytes), options.name]
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], { stdio: ["ignore", "pipe", "pipe"] })
    live.add(child)
    let output = ""
    const fail = (why: string) => {
      clearTimeout(timer)
      child.kill("SIGKILL")
      reject(new Error(`echo responder ${options.name} ${why}: ${output.trim()}`))
    }
    const timer = setTimeout(() => fail(`not ready within ${readyTimeoutMillis} ms`), readyTimeoutMillis)
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => void (output += chunk))
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
      if (!output.includes("ready")) return
      clearTimeout(timer)
      resolve({ pid: child.pid ?? -1, name: options.name, stop: () => stop(child) })
    })
    child.once("exit", (code, signal) => {
      live.delete(child)
      fail(`exited (${code ?? signal})`)
    })
  })

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })
