/**
 * The kit's tokenbus replicas, all started from one configuration file and
 * replaced together when it changes. A replica reads its configuration only
 * when it starts, so a new setting (the rate limit) takes a rolling restart:
 * the new replicas start beside the old ones, the old ones stop with SIGTERM
 * (which hands leadership over at once), and a new replica becomes leader and
 * adopts the stored token, so nothing is minted for the change. The rate
 * budget spent so far is in KV and counts under the new limit.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { TestKitError } from "../TestKitError.ts"
import { type LogPredicate, logMsg, ReplicaProcess } from "./ReplicaProcess.ts"

export interface FleetOptions {
  readonly bin: string
  /** Where configuration files are written (the kit's temp dir). */
  readonly dir: string
  readonly provider: string
  readonly logLevel: string
  readonly timeoutMillis: number
}

const STOP_GRACE_MILLIS = 5_000
const POLL_MILLIS = 25
const TAIL_LINES = 25
const MINTED = "minted and committed a token"

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

export class ReplicaFleet {
  /** Every replica started, stopped ones included. */
  readonly all: Array<ReplicaProcess> = []
  /** The replicas of the configuration in force. */
  current: ReadonlyArray<ReplicaProcess> = []
  readonly #options: FleetOptions
  #generation = 0
  #stopped = false

  constructor(options: FleetOptions) {
    this.#options = options
  }

  /** Starts `count` replicas from `config` and resolves once each logged "replica ready". */
  async start(count: number, config: object): Promise<ReadonlyArray<ReplicaProcess>> {
    const { bin, dir, logLevel, timeoutMillis } = this.#options
    const configPath = join(dir, `tokenbus-${++this.#generation}.json`)
    await writeFile(configPath, JSON.stringify(config, null, 2))
    // A kit stopped meanwhile has stopped every replica it knew of: one started now would be left behind.
    if (this.#stopped) throw new TestKitError({ step: "replicas", message: "the kit was stopped" })
    const started = Array.from({ length: count }, () => {
      const name = `replica-${this.all.length + 1}`
      const replica = new ReplicaProcess({ name, bin, configPath, cwd: dir, logLevel })
      this.all.push(replica)
      return replica
    })
    const ready = await Promise.allSettled(
      started.map((replica) => replica.waitFor(logMsg("replica ready"), timeoutMillis, "replica ready"))
    )
    const failed = ready.find((result): result is PromiseRejectedResult => result.status === "rejected")
    if (failed !== undefined) {
      const failure = this.#failure(started, (failed.reason as Error).message)
      // Those that did start would otherwise run on, on a configuration the kit does not stand by.
      await Promise.all(started.map((replica) => replica.stop(STOP_GRACE_MILLIS)))
      throw failure
    }
    return started
  }

  /** Resolves once one of `replicas` logged a line matching `predicate`. */
  async waitForAny(replicas: ReadonlyArray<ReplicaProcess>, predicate: LogPredicate, what: string): Promise<void> {
    const deadline = Date.now() + this.#options.timeoutMillis
    while (!replicas.some((replica) => replica.logs.some(predicate))) {
      if (replicas.every((replica) => replica.exit !== undefined)) {
        throw this.#failure(replicas, `every replica ended before one logged "${what}"`)
      }
      if (Date.now() > deadline) {
        throw this.#failure(replicas, `no replica logged "${what}" within ${this.#options.timeoutMillis} ms`)
      }
      await sleep(POLL_MILLIS)
    }
  }

  /** The first configuration: its replicas, then a leader holding a token. */
  async launch(count: number, config: object): Promise<void> {
    this.current = await this.start(count, config)
    const { provider } = this.#options
    const holds: LogPredicate = (line) =>
      line.provider === provider && (line.msg === MINTED || line.msg === "adopted the stored token")
    await this.waitForAny(this.current, holds, MINTED)
  }

  /** The rolling restart: new replicas from `config`, the old ones stopped, a new one leading. */
  async replace(config: object): Promise<void> {
    const previous = this.current
    const next = await this.start(previous.length, config)
    this.current = next
    await Promise.all(previous.map((replica) => replica.stop(STOP_GRACE_MILLIS)))
    await this.waitForAny(next, logMsg("became leader", this.#options.provider), "became leader")
  }

  /** Stops every replica still running. */
  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.all.map((replica) => replica.stop(STOP_GRACE_MILLIS)))
  }

  #failure(replicas: ReadonlyArray<ReplicaProcess>, what: string): TestKitError {
    const tails = replicas.map((replica) => replica.tail(TAIL_LINES)).join("\n")
    return new TestKitError({ step: "replicas", message: `tokenbus replicas: ${what}\n${tails}` })
  }
}
