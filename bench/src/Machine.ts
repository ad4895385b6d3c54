/**
 * What the benchmark ran on, printed with its table and kept in its JSON:
 * figures from a 2-core VM and from a 32-core workstation are not comparable,
 * and neither are runs on different Node or nats-server versions.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { availableParallelism, release, totalmem } from "node:os"

export interface Machine {
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly kernel: string
  readonly node: string
  readonly natsServer: string
  readonly natsJs: string
}

const cpuModel = (): string => {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown"
  } catch {
    return "unknown"
  }
}

const natsServerVersion = (): string => {
  try {
    const binary = process.env["NATS_SERVER_BIN"] ?? "nats-server"
    return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim()
  } catch {
    return "unknown"
  }
}

const natsJsVersion = (): string => {
  try {
    const url = import.meta.resolve("@nats-io/transport-node/package.json")
    return String((JSON.parse(readFileSync(new URL(url), "utf8")) as { readonly version?: string }).version)
  } catch {
    return "unknown"
  }
}

export const describeMachine = (): Machine => ({
  cpus: availableParallelism(),
  cpuModel: cpuModel(),
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  kernel: release(),
  node: process.version,
  natsServer: natsServerVersion(),
  natsJs: natsJsVersion()
})

export const machineLine = (machine: Machine): string =>
  `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM, Linux ${machine.kernel}, ` +
  `Node ${machine.node}, ${machine.natsServer}, nats.js ${machine.natsJs}`
