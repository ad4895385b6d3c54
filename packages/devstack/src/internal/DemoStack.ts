/**
 * Everything the demo runs on, on this machine alone: a local nats-server,
 * the simulated project44 and ItemPath, the files the replicas read, the log file their
 * lines go to, and the replica processes, which the story adds and kills as
 * it goes. All of it is stopped when the scope closes (Ctrl-C included).
 */
import { acquireItemPathSim, acquireProject44Sim, type ItemPathSim, type Project44Sim } from "@tokenbus/sim"
import { randomBytes } from "node:crypto"
import { createWriteStream, type WriteStream } from "node:fs"
import { Effect, Scope } from "effect"
import { acquireNatsServer, type NatsServerProcess } from "../NatsServerProcess.ts"
import {
  DEMO_CLIENT_ID,
  DEMO_ITEMPATH_TIME_SCALE,
  DEMO_ITEMPATH_USER,
  DEMO_PROVIDER,
  type DemoFiles,
  writeDemoFiles
} from "./DemoFiles.ts"
import type { DemoReplicaError } from "../DemoReplicaError.ts"
import { acquireReplica, type DemoReplica, type ReplicaCommand } from "./DemoReplica.ts"

/** How long a replica may take to start and join (Node strips the types of the whole service at start). */
const START_TIMEOUT_MILLIS = 45_000

export interface StartedReplica {
  readonly replica: DemoReplica
  readonly replicaId: string
  readonly httpPort: number
}

export interface DemoStack {
  readonly nats: NatsServerProcess
  readonly sim: Project44Sim
  readonly itemPath: ItemPathSim
  readonly files: DemoFiles
  /** The log file the replicas' lines go to. */
  readonly log: WriteStream
  /** Every replica started so far, stopped ones included, in start order. */
  readonly replicas: Array<StartedReplica>
  /** Starts one more replica and waits until it has joined the cluster and serves HTTP. */
  readonly addReplica: () => Effect.Effect<StartedReplica, DemoReplicaError>
  /** The live replica that leads `provider`: the one that logged "became leader" with the highest term. */
  readonly leader: (provider?: string) => StartedReplica | undefined
}

const acquireLog = (path: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const stream = createWriteStream(path, { flags: "a", mode: 0o600 })
      // A log that cannot be written must not end the demo: the terminal has what matters.
      stream.on("error", () => {})
      return stream
    }),
    (stream) => Effect.callback<void>((resume) => void stream.end(() => resume(Effect.void)))
  )

const started = (replica: DemoReplica) =>
  Effect.gen(function*() {
    const joined = yield* replica.waitFor("joined the cluster", (l) => l.msg === "joined the cluster", START_TIMEOUT_MILLIS)
    const http = yield* replica.waitFor("http listening", (l) => l.msg === "http listening", START_TIMEOUT_MILLIS)
    return { replica, replicaId: joined.replica ?? "?", httpPort: http.port ?? -1 } satisfies StartedReplica
  })

export const acquireDemoStack = (command: ReplicaCommand) =>
  Effect.gen(function*() {
    const nats = yield* acquireNatsServer()
    const clientSecret = randomBytes(16).toString("hex")
    // The upstream's own limit is looser than the demo's budget: the budget is what the story shows at work.
    const sim = yield* acquireProject44Sim({ clientId: DEMO_CLIENT_ID, clientSecret, tokensPerMinute: 60, burst: 10 })
    const itemPathPassword = randomBytes(16).toString("hex")
    const itemPath = yield* acquireItemPathSim({
      username: DEMO_ITEMPATH_USER,
      password: itemPathPassword,
      timeScale: DEMO_ITEMPATH_TIME_SCALE
    })
    const files = yield* writeDemoFiles({
      natsUrl: nats.url,
      tokenUrl: sim.tokenUrl,
      clientSecret,
      itemPathUrl: itemPath.baseUrl,
      itemPathPassword
    })
    const log: WriteStream = yield* acquireLog(files.logPath)
    const scope = yield* Effect.scope
    const replicas: Array<StartedReplica> = []
    const addReplica = () =>
      acquireReplica(`replica-${replicas.length + 1}`, command, files.configPath, log).pipe(
        Effect.flatMap(started),
        Effect.tap((replica) => Effect.sync(() => replicas.push(replica))),
        Effect.provideService(Scope.Scope, scope)
      )
    const leader = (provider: string = DEMO_PROVIDER) => {
      let best: StartedReplica | undefined
      for (const candidate of replicas) {
        const term = candidate.replica.alive ? candidate.replica.latestTerm(provider) : undefined
        if (term !== undefined && (best === undefined || term > (best.replica.latestTerm(provider) ?? -1))) {
          best = candidate
        }
      }
      return best
    }
    return { nats, sim, itemPath, files, log, replicas, addReplica, leader } satisfies DemoStack
  })
