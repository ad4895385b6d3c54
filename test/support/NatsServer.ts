// A real NATS server with JetStream for integration tests, run in a container
// from a local image (no registry can be reached). The container uses host
// networking so that all traffic stays on 127.0.0.1; the server therefore binds
// explicit free ports, and no ports are declared as exposed (testcontainers
// would otherwise wait for port bindings that host mode never makes).
import { freePorts } from "@tokenbus/testing"
import { GenericContainer, Wait } from "testcontainers"
import type { StartedTestContainer } from "testcontainers"

export const DEFAULT_NATS_IMAGE = "tokenbus/nats-server:2.15-debian"

export const natsImage = (): string => process.env["NATS_IMAGE"] ?? DEFAULT_NATS_IMAGE

export interface NatsServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string
  readonly port: number
  readonly monitorPort: number
  /** Stops (kills) and removes the container. Safe to call more than once. */
  stop(): Promise<void>
  /**
   * Kills and starts the same container again: same ports, same JetStream
   * store (the container's filesystem survives a restart). Resolves once
   * JetStream is healthy again.
   */
  restart(): Promise<void>
}

export interface StartNatsServerOptions {
  /** Container name; default is Docker's generated one. */
  readonly name?: string
  /** Extra nats-server arguments appended to the defaults (e.g. cluster routes). */
  readonly extraArgs?: ReadonlyArray<string>
}

const HEALTH_TIMEOUT_MS = 30_000
const STARTUP_TIMEOUT_MS = 60_000

/** Polls the monitor endpoint until JetStream reports healthy (HTTP 200). */
export const waitForJetStream = async (monitorPort: number, timeoutMs = HEALTH_TIMEOUT_MS): Promise<void> => {
  const url = `http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`
  const deadline = Date.now() + timeoutMs
  let last = "no answer"
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      if (response.status === 200) return
      last = `HTTP ${response.status}: ${await response.text()}`
    } catch (error) {
      last = String(error)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`NATS JetStream not healthy after ${timeoutMs} ms at ${url} (${last})`)
}

export const startNatsServer = async (options: StartNatsServerOptions = {}): Promise<NatsServer> => {
  const [port, monitorPort] = (await freePorts(2)) as [number, number]
  let container = new GenericContainer(natsImage())
    .withNetworkMode("host")
    .withCommand([
      "-js",
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-m",
      String(monitorPort),
      "-sd",
      "/data/jetstream",
      ...(options.extraArgs ?? [])
    ])
    .withLabels({ "org.tokenbus.test": "nats-server" })
    .withWaitStrategy(Wait.forLogMessage("Server is ready"))
    .withStartupTimeout(STARTUP_TIMEOUT_MS)
  if (options.name !== undefined) container = container.withName(options.name)

  const started: StartedTestContainer = await container.start()
  let stopped = false
  try {
    await waitForJetStream(monitorPort)
  } catch (error) {
    await started.stop().catch(() => undefined)
    throw error
  }

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorPort,
    stop: async () => {
      if (stopped) return
      stopped = true
      await started.stop()
    },
    restart: async () => {
      await started.restart()
      await waitForJetStream(monitorPort)
    }
  }
}
