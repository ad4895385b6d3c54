/**
 * A local `nats-server` with JetStream as a child process, for `tokenbus dev`:
 * the embedded default that lets someone try tokenbus with nothing else
 * running. The binary is `$NATS_SERVER_BIN` (scripts/start installs Debian's)
 * or `nats-server` on the PATH. It is stopped when the scope closes.
 */
import { spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Data, Effect } from "effect"

export class NatsServerError extends Data.TaggedError("NatsServerError")<{ readonly message: string }> {}

export interface NatsServerProcess {
  readonly url: string
}

const binary = () => process.env.NATS_SERVER_BIN ?? "nats-server"

export const acquireNatsServer = (port: number) =>
  Effect.gen(function*() {
    const storeDir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(join(tmpdir(), "tokenbus-nats-"))),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(binary(), ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], {
          stdio: ["ignore", "ignore", "pipe"]
        })
      ),
      (child) =>
        Effect.callback<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGTERM")
        })
    )
    yield* Effect.callback<void, NatsServerError>((resume) => {
      let log = ""
      child.stderr?.on("data", (chunk: Buffer) => {
        log += chunk.toString()
        if (log.includes("Server is ready")) resume(Effect.void)
      })
      child.once("error", (error) =>
        resume(Effect.fail(new NatsServerError({ message: `cannot start ${binary()}: ${error.message}` }))))
      child.once("exit", (code) =>
        resume(Effect.fail(new NatsServerError({ message: `${binary()} exited (${code}): ${log.trim().split("\n").at(-1)}` }))))
    }).pipe(
      Effect.timeoutOrElse({
        duration: "10 seconds",
        orElse: () => Effect.fail(new NatsServerError({ message: `${binary()} did not become ready in 10 s` }))
      })
    )
    return { url: `nats://127.0.0.1:${port}` } satisfies NatsServerProcess
  })
