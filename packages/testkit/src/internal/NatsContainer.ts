/**
 * The kit's NATS server: nats-server with JetStream in a container started by
 * Testcontainers. The container uses the host's network so that all traffic
 * stays on 127.0.0.1; the server is therefore told its free ports and address,
 * and no ports are declared as exposed (Testcontainers would wait for port
 * bindings host mode never makes). Ready means "Server is ready" in its log
 * and JetStream healthy. Its log is kept, so that a container that dies on
 * the way is explained by what it said.
 */
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers"
import { messageOf, TestKitError } from "../TestKitError.ts"
import { dockerClient, ensureImage } from "./DockerImage.ts"
import { freePorts } from "./freePorts.ts"
import { waitForJetStream } from "./JetStreamHealth.ts"
import { guardContainer } from "./Leftovers.ts"
import type { ProgressLog } from "./Progress.ts"

export interface NatsContainerOptions {
  readonly image: string
  readonly pull: boolean
  /** Labels the container (`org.tokenbus.testkit=<label>`) so that it can be found with `docker ps`. */
  readonly label: string
  readonly timeoutMillis: number
  readonly log: ProgressLog
}

export interface NatsContainer {
  /** nats://127.0.0.1:<port> */
  readonly url: string
  readonly monitorPort: number
  readonly id: string
  /** Stops and removes the container. Safe to call more than once. */
  readonly stop: () => Promise<void>
}

const LOG_LINES_KEPT = 30

const serverArgs = (port: number, monitorPort: number): Array<string> =>
  ["-js", "-a", "127.0.0.1", "-p", String(port), "-m", String(monitorPort), "-sd", "/data/jetstream"]

const startContainer = async (options: NatsContainerOptions, args: ReadonlyArray<string>) => {
  const output: Array<string> = []
  const container = new GenericContainer(options.image)
    .withNetworkMode("host")
    .withCommand([...args])
    .withLabels({ "org.tokenbus.testkit": options.label })
    .withLogConsumer((stream) => {
      stream.on("data", (chunk: Buffer | string) => {
        output.push(...String(chunk).trimEnd().split("\n"))
        output.splice(0, Math.max(0, output.length - LOG_LINES_KEPT))
      })
    })
    .withWaitStrategy(Wait.forLogMessage("Server is ready"))
    .withStartupTimeout(options.timeoutMillis)
  try {
    return await container.start()
  } catch (cause) {
    const ryuk = /ryuk|reaper/i.test(messageOf(cause))
      ? " Where Testcontainers' reaper image (Ryuk) cannot be pulled, set TESTCONTAINERS_RYUK_DISABLED=true: " +
        "the kit removes its container itself."
      : ""
    const said = output.length === 0 ? "" : `\nThe server's last lines:\n${output.join("\n")}`
    throw new TestKitError({
      step: "nats",
      message: `The NATS container (${options.image}) did not start: ${messageOf(cause)}.${ryuk}${said}`,
      cause
    })
  }
}

const stopper = (started: StartedTestContainer) => {
  const release = guardContainer(started.getId())
  let stopping: Promise<void> | undefined
  return () => {
    stopping ??= started.stop({ timeout: 2_000 }).then(
      () => release(),
      (cause: unknown) => {
        const message = `cannot remove the NATS container ${started.getId()}: ${messageOf(cause)}`
        throw new TestKitError({ step: "stop", message, cause })
      }
    )
    return stopping
  }
}

export const startNatsContainer = async (options: NatsContainerOptions): Promise<NatsContainer> => {
  const client = await dockerClient()
  await ensureImage(client.image, options.image, options.pull, options.log)
  const [port = 0, monitorPort = 0] = await freePorts(2)
  const started = await startContainer(options, serverArgs(port, monitorPort))
  const stop = stopper(started)
  try {
    await waitForJetStream(monitorPort, options.timeoutMillis)
  } catch (error) {
    await stop().catch(() => undefined)
    throw error
  }
  return { url: `nats://127.0.0.1:${port}`, monitorPort, id: started.getId(), stop }
}
