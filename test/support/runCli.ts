// The `tokenbus` command as an operator runs it: a child process of this
// repository's bin, whose exit code and output (stdout and stderr together)
// a test reads.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../../packages/service/src/bin.ts", import.meta.url))

/** `tokenbus <args>` as a child process; its exit code and everything it wrote. */
export const runCli = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.once("exit", (code) => resolve({ code, output }))
  })
