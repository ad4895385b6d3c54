/**
 * `tokenbus demo`: the story of what tokenbus does, on this machine alone
 * (a local NATS server, the simulated project44 and ItemPath, three
 * replicas and a fleet of simulated microservices), from `@tokenbus/devstack`, loaded only when
 * this command runs as `tokenbus dev` loads it. The replicas run this very
 * command (`serve`), with the Node options it was started with. Exit code
 * 0 when every step of the story held and nothing failed, 1 otherwise;
 * `--interactive` keeps it all running until Ctrl-C.
 */
import { Data, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { DevStackMissing } from "./DevCommand.ts"

export class DemoFailed extends Data.TaggedError("DemoFailed")<{ readonly message: string }> {}

const loadDevStack = Effect.tryPromise({
  try: () => import("@tokenbus/devstack"),
  catch: () =>
    new DevStackMissing({
      message: "tokenbus demo needs the @tokenbus/devstack package (a development tool): install it beside @tokenbus/service"
    })
})

/** This process's own command line: what `tokenbus serve` is run with, whether from source or from a build. */
const thisCommand = () => ({ command: process.execPath, args: [...process.execArgv, process.argv[1] ?? "tokenbus"] })

export const demo = Command.make("demo", {
  replicas: Flag.Int("replicas").pipe(Flag.withDefault(3), Flag.withDescription("Replicas to start")),
  consumers: Flag.Int("consumers").pipe(Flag.withDefault(20), Flag.withDescription("Simulated microservices")),
  interactive: Flag.Boolean("interactive").pipe(
    Flag.withDefault(false),
    Flag.withDescription("Keep everything running after the story, until Ctrl-C")
  )
}, (options) =>
  Effect.gen(function*() {
    const devstack = yield* loadDevStack
    const summary = yield* devstack.runDemo(thisCommand(), options)
    if (!devstack.demoSucceeded(summary)) {
      const failed = summary.steps.filter((step) => !step.ok).map((step) => step.title)
      return yield* new DemoFailed({
        message: `the demo's story did not hold (${failed.join(", ") || `${summary.failures} failures`})`
      })
    }
  })).pipe(
    Command.withDescription(
      "Show what tokenbus does: local NATS, a simulated project44 and ItemPath, 3 replicas and 20 clients through " +
        "revocation, leader loss, scaling, a 401 storm and the budget's edge"
    )
  )
