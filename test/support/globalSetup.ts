// Vitest globalSetup of the `integration` project: one NATS server (with
// JetStream) for the whole run, a nats-server child process started as
// `tokenbus dev` and the bench start theirs (@tokenbus/devstack; the binary
// is $NATS_SERVER_BIN, which scripts/test installs). Its URL and monitor
// port reach tests via `inject`. Tests isolate themselves with random
// subject prefixes and bucket names.
import { type LocalNatsServer, startNatsServer } from "@tokenbus/testing"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** nats://127.0.0.1:<port> of the NATS server shared by the run. */
    natsUrl: string
    /** Its monitoring (HTTP) port on 127.0.0.1. */
    natsMonitorPort: number
  }
}

let server: LocalNatsServer | undefined

export const setup = async (project: TestProject): Promise<void> => {
  const started = Date.now()
  const binary = process.env["NATS_SERVER_BIN"] ?? "nats-server (PATH)"
  process.stderr.write(`[integration] starting NATS (${binary}) ...\n`)
  server = await startNatsServer()
  process.stderr.write(
    `[integration] NATS ready at ${server.url} (monitor :${server.monitorPort}) in ${Date.now() - started} ms\n`
  )
  project.provide("natsUrl", server.url)
  project.provide("natsMonitorPort", server.monitorPort)
}

export const teardown = async (): Promise<void> => {
  await server?.stop()
  server = undefined
}
