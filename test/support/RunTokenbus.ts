// One run of the `tokenbus` command as an operator types it (`node
// packages/service/src/bin.ts <args>`), for the commands that end on their
// own: `get`, `reset`, and `serve` with a configuration it refuses. Its
// stdout and stderr are kept whole; a run that outlives `timeoutMs` is
// SIGKILLed and says so.
import { spawn } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
const binPath = join(repoRoot, "packages", "service", "src", "bin.ts")

export interface TokenbusRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** It did not end within the timeout and was killed. */
  readonly killed: boolean
}

export const runTokenbus = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 30_000
): Promise<TokenbusRun> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd: repoRoot,
      env: { ...process.env, TOKENBUS_LOG_LEVEL: "All", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let killed = false
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      killed = true
      child.kill("SIGKILL")
    }, timeoutMs)
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, killed })
    })
  })
