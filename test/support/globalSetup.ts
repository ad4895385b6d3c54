// Vitest globalSetup of the `integration` project: one NATS server (with
// JetStream) for the whole run, its URL handed to tests via
// `inject("natsUrl")`. Tests isolate themselves with unique bucket/stream names.
import type { TestProject } from "vitest/node"
import { natsImage, startNatsServer } from "./NatsServer.ts"
import type { NatsServer } from "./NatsServer.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** nats://127.0.0.1:<port> of the NATS server shared by the run. */
    natsUrl: string
    /** Its monitoring (HTTP) port on 127.0.0.1. */
    natsMonitorPort: number
  }
}

let server: NatsServer | undefined

export const setup = async (project: TestProject): Promise<void> => {
  const started = Date.now()
  process.stderr.write(`[integration] starting NATS (image ${natsImage()}) ...\n`)
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
