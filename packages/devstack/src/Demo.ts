/**
 * `tokenbus demo`: what tokenbus does, shown in about a minute on this
 * machine alone. A local nats-server, the simulated project44 and ItemPath,
 * three replica processes and a fleet of simulated microservices using the
 * client (a few of them on ItemPath, which the story leaves alone but whose
 * calls must all be served through it); then the story (DemoStory.ts) with a progress line per step, and
 * a summary table (DemoSummary.ts). The replicas' and the demo's own log
 * lines go to a file whose path it prints, so the terminal stays readable.
 *
 * The replicas run the `tokenbus` command the caller names (the service
 * passes its own), which keeps this package free of the service. Everything
 * is stopped when the scope closes: after the story, or with `interactive`
 * on Ctrl-C.
 */
import type { WriteStream } from "node:fs"
import { Console, Effect, Logger } from "effect"
import { type DemoSummary, formatSummary } from "./DemoSummary.ts"
import {
  DEMO_ITEMPATH,
  DEMO_ITEMPATH_TIME_SCALE,
  DEMO_PROVIDER,
  demoItemPathRateLimit,
  demoRateLimit
} from "./internal/DemoFiles.ts"
import { startFleet } from "./internal/DemoFleet.ts"
import type { ReplicaCommand } from "./internal/DemoReplica.ts"
import { acquireDemoStack, type DemoStack } from "./internal/DemoStack.ts"
import { playStory } from "./internal/DemoStory.ts"

export type { ReplicaCommand } from "./internal/DemoReplica.ts"

export interface DemoOptions {
  readonly replicas: number
  readonly consumers: number
  /** Keep everything running after the story, until interrupted (Ctrl-C). */
  readonly interactive: boolean
}

const budgetOf = (limit: { readonly tokens: number; readonly windowMillis: number }) =>
  `${limit.tokens} per ${limit.windowMillis / 1000} s`
const budgetText = budgetOf(demoRateLimit)

/** The microservices on ItemPath, beside the `consumers` on project44. */
const ITEMPATH_CONSUMERS = 3

type Fleet = Effect.Success<ReturnType<typeof startFleet>>

const banner = (stack: DemoStack, options: DemoOptions): string =>
  [
    `tokenbus demo: ${options.replicas} replicas, ${options.consumers} simulated microservices on ` +
    `the simulated project44 (${stack.sim.baseUrl}), ${ITEMPATH_CONSUMERS} on the simulated ItemPath ` +
    `(${stack.itemPath.baseUrl})`,
    `  fast time scale: the budget is ${budgetText} (project44's real limit is 5 tokens a minute)`,
    `  fast time scale: ItemPath's access tokens live ${900 / DEMO_ITEMPATH_TIME_SCALE} s (really 15 minutes), ` +
    `its budget is ${budgetOf(demoItemPathRateLimit)}`,
    `  NATS         ${stack.nats.url} (nats-server pid ${stack.nats.pid})`,
    ...stack.replicas.map((r) =>
      `  ${r.replica.name.padEnd(11)}  pid ${r.replica.pid}, dashboard http://127.0.0.1:${r.httpPort}/`
    ),
    `  logs         ${stack.files.logPath}`
  ].join("\n")

/** The demo's own log lines (the client's warnings, say) go to the log file too. */
const fileLogger = (stream: WriteStream) =>
  Logger.layer([
    Logger.map(Logger.formatJson, (line) => {
      if (!stream.writableEnded) stream.write(`[demo] ${line}\n`)
    })
  ])

const startStack = (command: ReplicaCommand, options: DemoOptions) =>
  Effect.gen(function*() {
    yield* Console.log(
      "tokenbus demo: starting a local nats-server, the simulated project44 and ItemPath, and the replicas ..."
    )
    const stack = yield* acquireDemoStack(command)
    for (let index = 0; index < options.replicas; index++) yield* stack.addReplica()
    return stack
  })

const summarize = (
  stack: DemoStack,
  fleet: Fleet,
  itemPathFleet: Fleet,
  record: Effect.Success<ReturnType<typeof playStory>>,
  seconds: number
): DemoSummary => ({
  seconds,
  steps: record.steps,
  provider: DEMO_PROVIDER,
  mints: stack.sim.counters().mints,
  budget: budgetText,
  upstream401s: stack.sim.counters().resourceUnauthorized,
  consumer401s: fleet.counts.unauthorized,
  recoveries: record.recoveries,
  takeoverMillis: record.takeoverMillis,
  bystanders: [{
    provider: DEMO_ITEMPATH,
    // Each login and each refresh is a mint: both issue an access token.
    mints: stack.itemPath.counters().logins + stack.itemPath.counters().refreshes,
    budget: budgetOf(demoItemPathRateLimit),
    served: itemPathFleet.counts.served,
    failures: itemPathFleet.counts.failures
  }],
  served: fleet.counts.served + itemPathFleet.counts.served,
  failures: fleet.counts.failures + itemPathFleet.counts.failures
})

const leaderText = (stack: DemoStack, provider: string) =>
  `  leader       ${stack.leader(provider)?.replica.name ?? "none yet"} leads ${provider}`

/** The fleet on project44, which the story plays with, and the few consumers on ItemPath beside it. */
const startFleets = (stack: DemoStack, options: DemoOptions) =>
  Effect.gen(function*() {
    const common = { natsUrl: stack.nats.url, verifyKeyPem: stack.files.verifyKeyPem }
    const fleet = yield* startFleet({
      ...common,
      name: "demo-consumer",
      size: options.consumers,
      provider: DEMO_PROVIDER,
      resourceUrl: stack.sim.resourceUrl
    })
    // They fetch ItemPath's resource, which answers 401 to a token it did not issue or no longer accepts.
    const itemPathFleet = yield* startFleet({
      ...common,
      name: "demo-itempath-consumer",
      size: ITEMPATH_CONSUMERS,
      provider: DEMO_ITEMPATH,
      resourceUrl: stack.itemPath.resourceUrl
    })
    return [fleet, itemPathFleet] as const
  }).pipe(Effect.provide(fileLogger(stack.log)))

/** Runs the demo; its summary once the story is over (with `interactive`, never: it runs until interrupted). */
export const runDemo = (command: ReplicaCommand, options: DemoOptions) =>
  Effect.gen(function*() {
    const began = performance.now()
    const stack = yield* startStack(command, options)
    yield* Effect.gen(function*() {
      while (stack.leader(DEMO_PROVIDER) === undefined || stack.leader(DEMO_ITEMPATH) === undefined) {
        yield* Effect.sleep(50)
      }
    }).pipe(Effect.timeoutOrElse({ duration: 30_000, orElse: () => Effect.void }))
    yield* Console.log(banner(stack, options))
    yield* Console.log(leaderText(stack, DEMO_PROVIDER))
    yield* Console.log(leaderText(stack, DEMO_ITEMPATH))
    const [fleet, itemPathFleet] = yield* startFleets(stack, options)
    const record = yield* playStory(stack, fleet, options.consumers)
    const summary = summarize(stack, fleet, itemPathFleet, record, (performance.now() - began) / 1000)
    yield* Console.log(formatSummary(summary))
    if (options.interactive) {
      yield* Console.log("Still running (the fleet keeps calling; dashboards above). Stop with Ctrl-C.")
      return yield* Effect.never
    }
    yield* Console.log("Stopping the fleet, the replicas, the simulated upstreams and nats-server ...")
    return summary
  }).pipe(
    Effect.onInterrupt(() =>
      Console.log("Interrupted: stopping the fleet, the replicas, the simulated upstreams and nats-server ...")
    ),
    Effect.scoped
  )
