/**
 * `tokenbus demo`: what tokenbus does, shown in about a minute on this
 * machine alone. A local nats-server, the simulated project44, three
 * replica processes and a fleet of simulated microservices using the
 * client; then the story (DemoStory.ts) with a progress line per step, and
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
import { DEMO_PROVIDER, demoRateLimit } from "./internal/DemoFiles.ts"
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

const budgetText = `${demoRateLimit.tokens} per ${demoRateLimit.windowMillis / 1000} s`

const banner = (stack: DemoStack, options: DemoOptions): string =>
  [
    `tokenbus demo: ${options.replicas} replicas, ${options.consumers} simulated microservices, ` +
    `the simulated project44 (${stack.sim.baseUrl})`,
    `  fast time scale: the budget is ${budgetText} (project44's real limit is 5 tokens a minute)`,
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
    yield* Console.log("tokenbus demo: starting a local nats-server, the simulated project44 and the replicas ...")
    const stack = yield* acquireDemoStack(command)
    for (let index = 0; index < options.replicas; index++) yield* stack.addReplica()
    return stack
  })

const summarize = (
  stack: DemoStack,
  fleet: Effect.Success<ReturnType<typeof startFleet>>,
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
  served: fleet.counts.served,
  failures: fleet.counts.failures
})

/** Runs the demo; its summary once the story is over (with `interactive`, never: it runs until interrupted). */
export const runDemo = (command: ReplicaCommand, options: DemoOptions) =>
  Effect.gen(function*() {
    const began = performance.now()
    const stack = yield* startStack(command, options)
    const leader = yield* Effect.gen(function*() {
      while (stack.leader() === undefined) yield* Effect.sleep(50)
      return stack.leader()!
    }).pipe(Effect.timeoutOrElse({ duration: 30_000, orElse: () => Effect.succeed(undefined) }))
    yield* Console.log(banner(stack, options))
    yield* Console.log(`  leader       ${leader?.replica.name ?? "none yet"} leads ${DEMO_PROVIDER}`)
    const fleet = yield* startFleet({
      size: options.consumers,
      natsUrl: stack.nats.url,
      verifyKeyPem: stack.files.verifyKeyPem,
      provider: DEMO_PROVIDER,
      resourceUrl: stack.sim.resourceUrl
    }).pipe(Effect.provide(fileLogger(stack.log)))
    const record = yield* playStory(stack, fleet, options.consumers)
    const summary = summarize(stack, fleet, record, (performance.now() - began) / 1000)
    yield* Console.log(formatSummary(summary))
    if (options.interactive) {
      yield* Console.log("Still running (the fleet keeps calling; dashboards above). Stop with Ctrl-C.")
      return yield* Effect.never
    }
    yield* Console.log("Stopping the replicas and nats-server ...")
    return summary
  }).pipe(
    Effect.onInterrupt(() => Console.log("Interrupted: stopping the fleet, the replicas and nats-server ...")),
    Effect.scoped
  )
