// A NATS server with JetStream in a container, for the tests that need the
// real server image rather than the local binary every other test runs on:
// test/NatsKvSemantics.test.ts pins down the image's KV semantics, and
// cluster tests will start several. The image is local (no registry can be
// reached; scripts/test builds it). The container uses host networking so
// that all traffic stays on 127.0.0.1; the server therefore binds explicit
// free ports, and no ports are declared as exposed (testcontainers would
// otherwise wait for port bindings that host mode never makes).
import { waitForJetStream } from "@tokenbus/devstack"
import { freePorts } from "@tokenbus/testing"
import { Effect } from "effect"
import { GenericContainer, Wait } from "testcontainers"

export const DEFAULT_NATS_IMAGE = "tokenbus/nats-server:2.15-debian"

export const natsImage = (): string => process.env["NATS_IMAGE"] ?? DEFAULT_NATS_IMAGE

export interface NatsContainer {
  /** nats://127.0.0.1:<port> */
  readonly url: string
  readonly port: number
  readonly monitorPort: number
  /** Docker's id of the container, for what this module does not offer (NatsCluster.ts kills and pauses it). */
  readonly containerId: string
  /** Stops (kills) and removes the container. Safe to call more than once. */
  stop(): Promise<void>
}

export interface StartNatsContainerOptions {
  /** Container name; default is Docker's generated one. */
  readonly name?: string
  /** Extra nats-server arguments appended to the defaults (e.g. cluster routes). */
  readonly extraArgs?: ReadonlyArray<string>
  /** Its client and monitor ports, drawn with the other ports of a cluster; default: two drawn here. */
  readonly ports?: { readonly port: number; readonly monitorPort: number }
}

const STARTUP_TIMEOUT_MS = 60_000

const drawPorts = async () => {
  const [port, monitorPort] = (await freePorts(2)) as [number, number]
  return { port, monitorPort }
}

export const startNatsContainer = async (options: StartNatsContainerOptions = {}): Promise<NatsContainer> => {
  const { monitorPort, port } = options.ports ?? (await drawPorts())
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

  const started = await container.start()
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await started.stop()
  }
  try {
    await Effect.runPromise(waitForJetStream(monitorPort))
  } catch (error) {
    await stop().catch(() => undefined)
    throw error
  }
  return { url: `nats://127.0.0.1:${port}`, port, monitorPort, containerId: started.getId(), stop }
}
