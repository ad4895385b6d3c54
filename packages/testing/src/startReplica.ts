/**
 * Starting tokenbus replicas as real child processes, for the integration
 * tests and the benchmark: `node packages/service/src/bin.ts serve --config
 * <tmp file>`, exactly as an operator runs them (or, with `fromBuild`, the
 * bundle `pnpm build` makes of it).
 *
 * Every replica started here is remembered until `stopAllReplicas()`, which
 * SIGKILLs whatever is still alive and removes the temp config files, so a
 * failing test or an interrupted benchmark cannot leave processes behind.
 * (test/support/useReplicaCleanup.ts registers that with vitest.)
 */
import { spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { logMsg } from "./LogLine.ts"
import { ReplicaProcess } from "./ReplicaProcess.ts"
import { bundlePath } from "./ServiceBundle.ts"
import { defaultSigningKeys, SIGNING_KEY_ENV } from "./SigningKeys.ts"
import { STORAGE_KEY_ENV, storageKey } from "./StorageKey.ts"

/** Repository root (this file is packages/testing/src/startReplica.ts). */
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url))
const binPath = join(repoRoot, "packages", "service", "src", "bin.ts")

export interface StartReplicaOptions {
  /** Shown in failure output and used as the NATS connection name unless the config sets one. */
  readonly name?: string
  /**
   * Extra environment (the provider secrets the config refers to with `{ "env": ... }`); the signing key
   * (`$TOKENBUS_SIGNING_KEY`) is the test process's default pair unless given here.
   */
  readonly env?: Readonly<Record<string, string>>
  /** TOKENBUS_LOG_LEVEL; default "Debug". */
  readonly logLevel?: string
  /** Node options before the script, e.g. `--cpu-prof` to profile the replica. */
  readonly nodeArgs?: ReadonlyArray<string>
  /**
   * Run the bundle `pnpm build` makes (ServiceBundle.ts) instead of src/bin.ts, as the bench does; the caller
   * makes sure it is there and current (`ensureFreshBundle`): the replica fails to start if it is missing.
   */
  readonly fromBuild?: boolean
}

let counter = 0
const live = new Set<ReplicaProcess>()
const all: Array<ReplicaProcess> = []
const tempDirs: Array<string> = []

// Children are not in a process group of their own, so nothing else would
// stop them if the parent process died before stopping them itself.
process.once("exit", () => {
  for (const replica of live) replica.child.kill("SIGKILL")
})

/** Spawns without waiting for readiness. */
export const spawnReplica = async (
  config: Readonly<Record<string, unknown>>,
  options: StartReplicaOptions = {}
): Promise<ReplicaProcess> => {
  const name = options.name ?? `replica-${++counter}`
  const dir = await mkdtemp(join(tmpdir(), "tokenbus-replica-"))
  tempDirs.push(dir)
  const nats = (config["nats"] ?? {}) as Record<string, unknown>
  // A distinct NATS connection name per replica lets tests find its connection in `/connz`.
  const natsName = typeof nats["name"] === "string" ? nats["name"] : `${String(config["prefix"] ?? "tokenbus")}-${name}`
  const withName = { ...config, nats: { ...nats, name: natsName } }
  const configPath = join(dir, "config.json")
  await writeFile(configPath, JSON.stringify(withName, null, 2))
  const script = options.fromBuild === true ? bundlePath : binPath
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, "serve", "--config", configPath], {
    cwd: repoRoot,
    env: {
      ...process.env,
      [STORAGE_KEY_ENV]: storageKey,
      [SIGNING_KEY_ENV]: defaultSigningKeys.privateKeyPem,
      TOKENBUS_LOG_LEVEL: options.logLevel ?? "Debug",
      ...options.env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const replica = new ReplicaProcess(name, child, configPath, natsName)
  live.add(replica)
  all.push(replica)
  void replica.exited.then(() => live.delete(replica))
  return replica
}

/**
 * Starts one replica with `config` (the JSON config file's content, written
 * to a temp dir). Resolves once it logged "replica ready"; rejects (and kills
 * it) if it does not within `readyTimeoutMs`.
 */
export const startReplica = async (
  config: Readonly<Record<string, unknown>>,
  options: StartReplicaOptions = {},
  readyTimeoutMs = 30_000
): Promise<ReplicaProcess> => {
  const replica = await spawnReplica(config, options)
  try {
    await replica.waitForLog(logMsg("replica ready"), readyTimeoutMs)
  } catch (error) {
    replica.kill("SIGKILL")
    throw new Error(`${(error as Error).message}\n${replica.dump()}`)
  }
  return replica
}

/** Starts `n` replicas at once (so they really race for the lock) and waits until all are ready. */
export const startReplicas = async (
  n: number,
  config: Readonly<Record<string, unknown>>,
  options: StartReplicaOptions & { readonly namePrefix?: string } = {}
): Promise<Array<ReplicaProcess>> => {
  const base = options.namePrefix ?? "replica"
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, index) => startReplica(config, { ...options, name: `${base}-${index + 1}` }))
  )
  const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected")
  if (failed !== undefined) {
    for (const result of results) if (result.status === "fulfilled") result.value.kill("SIGKILL")
    throw failed.reason
  }
  return results.map((result) => (result as PromiseFulfilledResult<ReplicaProcess>).value)
}

/** Every replica started since the last `stopAllReplicas()`, dead or alive. */
export const startedReplicas = (): ReadonlyArray<ReplicaProcess> => all

/** SIGKILLs every replica still alive, waits for them, and removes the temp config dirs. */
export const stopAllReplicas = async (): Promise<void> => {
  const remaining = [...live]
  for (const replica of remaining) replica.kill("SIGKILL")
  await Promise.all(remaining.map((replica) => replica.exited))
  all.length = 0
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
}

/** All replicas' logs, for failure output. */
export const dumpReplicaLogs = (replicas: ReadonlyArray<ReplicaProcess> = all): string =>
  replicas.map((replica) => replica.dump()).join("\n")
