/**
 * The last guard against leftovers. A test process that ends without
 * stopping its kit (a forgotten `await using`, a runner worker torn down)
 * would leave replica processes and the NATS container behind: the replicas
 * are not in a process group of their own, and Testcontainers' reaper is
 * often disabled where its image cannot be pulled. On exit, whatever is still
 * registered here is killed: replicas with SIGKILL, containers with
 * `docker rm -f` (best effort: only the synchronous docker command can run
 * while a process exits).
 */
import { type ChildProcess, execFileSync } from "node:child_process"

const children = new Set<ChildProcess>()
const containers = new Set<string>()
let installed = false

const killLeftovers = (): void => {
  for (const child of children) child.kill("SIGKILL")
  if (containers.size === 0) return
  try {
    execFileSync("docker", ["rm", "-f", ...containers], { stdio: "ignore", timeout: 15_000 })
  } catch {
    // Nothing more can be done from an exiting process.
  }
}

const install = (): void => {
  if (installed) return
  installed = true
  process.once("exit", killLeftovers)
}

/** Kills `child` if the process exits while it still runs. */
export const guardChild = (child: ChildProcess): void => {
  install()
  children.add(child)
  child.once("exit", () => children.delete(child))
}

/** Removes the container if the process exits before the returned function is called. */
export const guardContainer = (id: string): (() => void) => {
  install()
  containers.add(id)
  return () => void containers.delete(id)
}
