// A NATS cluster with JetStream for integration tests of what survives the
// loss of a server: three nats-server containers (by default) from the local
// image (`NATS_IMAGE`, see NatsContainer.ts, which starts each of them), with
// host networking, every port on 127.0.0.1 (client, cluster and monitor
// ports are free ports picked at start), routes between them on 127.0.0.1
// and each its own JetStream store inside its container. `startNatsCluster`
// resolves once every node's JetStream is up, all of them agree on a meta
// leader and every node reports itself healthy.
//
// Each node can be killed (SIGKILL: the server hands nothing over, as when
// its machine dies), restarted (the same container: same store, same ports;
// resolves once the node has caught up), paused and resumed (docker pause
// freezes the process, so its peers see silence rather than a closed
// connection, as in a partition) and stopped for good. A test finds which
// node leads a stream with `streamLeader` and the meta leader with
// `metaLeader`, so it can kill the node that matters. Containers are stopped
// by `stop()` (Ryuk is disabled on these machines): call it in `afterAll`.
import { randomBytes } from "node:crypto"
import { jetstreamManager } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import { freePorts, sleep } from "@tokenbus/testing"
import { getContainerRuntimeClient } from "testcontainers"
import { type NatsContainer, startNatsContainer } from "./NatsContainer.ts"

export type NodeState = "running" | "killed" | "paused" | "stopped"

export interface NatsClusterNode {
  /** The server name (`-n`), which JetStream reports as a stream's or the meta group's leader: `n1`, `n2`... */
  readonly name: string
  /** nats://127.0.0.1:<port> */
  readonly url: string
  readonly port: number
  readonly clusterPort: number
  readonly monitorPort: number
  readonly state: NodeState
  /** SIGKILLs the server. Its container, and so its store, stays for `restart`. */
  kill(): Promise<void>
  /**
   * Starts the node again in the same container (same store, same ports), killing it first if it
   * runs, and resolves once it reports itself healthy: JetStream up and its streams caught up.
   */
  restart(): Promise<void>
  /** Freezes the server (docker pause): its connections stay open and silent. */
  pause(): Promise<void>
  resume(): Promise<void>
  /** Stops and removes the container for good. Safe to call more than once. */
  stop(): Promise<void>
}

export interface NatsCluster {
  /** The NATS cluster name (`--cluster_name`), random per cluster; containers are named `<name>-n1`... */
  readonly name: string
  readonly nodes: ReadonlyArray<NatsClusterNode>
  /** Every node's client URL, for clients that should fail over between them. */
  readonly urls: ReadonlyArray<string>
  /** The node called `name` (`n1`...). */
  node(name: string): NatsClusterNode
  /** The node leading stream `stream` (a KV bucket's is `KV_<bucket>`), asked through `connection`. */
  streamLeader(connection: NatsConnection, stream: string): Promise<NatsClusterNode | undefined>
  /** The node the running nodes' monitors name as JetStream's meta leader, if they agree on one. */
  metaLeader(): Promise<NatsClusterNode | undefined>
  /** Waits until every running node reports itself healthy and they agree on a meta leader. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>
  /** Stops every node (resuming paused ones first). */
  stop(): Promise<void>
}

export interface StartNatsClusterOptions {
  /** Number of servers; default 3. */
  readonly size?: number
}

const HEALTHY_TIMEOUT_MS = 60_000

/** GET on a node's monitor; undefined while it does not answer. */
const monitor = async (port: number, path: string): Promise<{ status: number; body: unknown } | undefined> => {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) })
    return { status: response.status, body: await response.json() }
  } catch {
    return undefined
  }
}

/** `/healthz` with no options: 200 once JetStream is up, the node is current with the meta group and its streams. */
const healthy = async (port: number): Promise<boolean> => (await monitor(port, "/healthz"))?.status === 200

const metaLeaderName = async (port: number): Promise<string | undefined> => {
  const jsz = (await monitor(port, "/jsz"))?.body as { meta_cluster?: { leader?: string } } | undefined
  const leader = jsz?.meta_cluster?.leader
  return leader === undefined || leader === "" ? undefined : leader
}

const waitFor = async (condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`NATS cluster: ${what} within ${timeoutMs} ms`)
    await sleep(100)
  }
}

const makeNode = (name: string, clusterPort: number, container: NatsContainer): NatsClusterNode => {
  let state: NodeState = "running"
  const docker = async () => (await getContainerRuntimeClient()).container.getById(container.containerId)

  const resume = async () => {
    if (state !== "paused") return
    await (await docker()).unpause()
    state = "running"
  }
  const kill = async () => {
    await resume()
    if (state !== "running") return
    await (await docker()).kill({ signal: "SIGKILL" })
    state = "killed"
    // The monitor port closes once the process is gone.
    const gone = async () => (await monitor(container.monitorPort, "/varz")) === undefined
    await waitFor(gone, 10_000, `${name} did not die`)
  }

  return {
    name,
    url: container.url,
    port: container.port,
    clusterPort,
    monitorPort: container.monitorPort,
    get state() {
      return state
    },
    kill,
    restart: async () => {
      if (state === "stopped") throw new Error(`${name} was stopped for good`)
      await kill()
      await (await docker()).start()
      state = "running"
      await waitFor(() => healthy(container.monitorPort), HEALTHY_TIMEOUT_MS, `${name} did not become healthy again`)
    },
    pause: async () => {
      if (state !== "running") throw new Error(`${name} is ${state}, not running`)
      await (await docker()).pause()
      state = "paused"
    },
    resume,
    stop: async () => {
      if (state === "stopped") return
      await resume()
      state = "stopped"
      await container.stop()
    }
  }
}

export const startNatsCluster = async (options: StartNatsClusterOptions = {}): Promise<NatsCluster> => {
  const size = options.size ?? 3
  const name = `tb${randomBytes(4).toString("hex")}`
  // Every port of the cluster in one draw, so no node is given a port another was given and has not bound yet.
  const ports = await freePorts(size * 3)
  const clusterPorts = ports.slice(0, size)
  const routes = clusterPorts.map((port) => `nats://127.0.0.1:${port}`).join(",")
  // All at once: a node's JetStream waits for its peers before it can elect a meta leader.
  const started = await Promise.allSettled(clusterPorts.map((clusterPort, index) =>
    startNatsContainer({
      name: `${name}-n${index + 1}`,
      ports: { port: ports[size + 2 * index]!, monitorPort: ports[size + 2 * index + 1]! },
      extraArgs: ["-n", `n${index + 1}`, "--cluster_name", name, "--cluster", `nats://127.0.0.1:${clusterPort}`,
        "--routes", routes]
    })
  ))
  const containers = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []))
  const failed = started.find((result): result is PromiseRejectedResult => result.status === "rejected")
  if (failed !== undefined) {
    await Promise.all(containers.map((container) => container.stop().catch(() => undefined)))
    throw failed.reason
  }
  const nodes = containers.map((container, index) => makeNode(`n${index + 1}`, clusterPorts[index]!, container))
  const byName = (nodeName: string | undefined) => nodes.find((node) => node.name === nodeName)

  const cluster: NatsCluster = {
    name,
    nodes,
    urls: nodes.map((node) => node.url),
    node: (nodeName) => {
      const node = byName(nodeName)
      if (node === undefined) throw new Error(`NATS cluster ${name} has no node ${nodeName}`)
      return node
    },
    streamLeader: async (connection, stream) => {
      const info = await (await jetstreamManager(connection)).streams.info(stream)
      return byName(info.cluster?.leader)
    },
    metaLeader: async () => {
      const running = nodes.filter((node) => node.state === "running")
      const leaders = await Promise.all(running.map((node) => metaLeaderName(node.monitorPort)))
      return leaders.every((leader) => leader !== undefined && leader === leaders[0]) ? byName(leaders[0]) : undefined
    },
    waitUntilHealthy: async (timeoutMs = HEALTHY_TIMEOUT_MS) => {
      const running = () => nodes.filter((node) => node.state === "running")
      await waitFor(async () => (await cluster.metaLeader()) !== undefined, timeoutMs, "no meta leader")
      await waitFor(async () => (await Promise.all(running().map((node) => healthy(node.monitorPort)))).every(Boolean),
        timeoutMs, "not every running node is healthy")
    },
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop().catch(() => undefined)))
    }
  }
  try {
    await cluster.waitUntilHealthy()
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return cluster
}
