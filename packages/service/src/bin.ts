#!/usr/bin/env node
/**
 * Entry point of the `tokenbus` command. SIGTERM and SIGINT interrupt the
 * program, which releases leader locks and drains NATS before exiting 0;
 * `ShutdownDeadline` ends a shutdown that hangs, or is signalled twice. An
 * invalid option (a flag, `TOKENBUS_LOG_LEVEL`, `TOKENBUS_CONFIG`, the
 * configuration file) stops start-up with one line on stderr and exit 1.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Layer, type Runtime } from "effect"
import { CliError } from "effect/cli"
import { cli } from "./cli/Cli.ts"
import * as Logging from "./cli/Logging.ts"
import { oneLinePresenter } from "./cli/OneLinePresenter.ts"
import { armShutdownDeadline } from "./cli/ShutdownDeadline.ts"

/** A message on one line: schema errors, for one, put the path of the field on a line of its own. */
const oneLine = (message: string): string =>
  message.split("\n").map((line) => line.trim()).filter((line) => line !== "").join(" ")

/**
 * Expected failures (an invalid option or config, unreachable NATS) get one
 * line; bugs get the full cause. A command line the CLI could not parse has
 * had its line from `oneLinePresenter` already.
 */
const report = (cause: Cause.Cause<{ readonly message: string }>) => {
  const failure = cause.reasons.find(Cause.isFailReason)
  if (failure === undefined || Cause.hasDies(cause)) return Console.error(Cause.pretty(cause))
  if (CliError.isCliError(failure.error) && failure.error._tag === "ShowHelp") return Effect.void
  return Console.error(`tokenbus: ${oneLine(failure.error.message)}`)
}

/** SIGTERM and SIGINT end in a clean shutdown, which is a success for a process supervisor. */
const teardown: Runtime.Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)

armShutdownDeadline()

cli.pipe(
  Effect.provide(Layer.mergeAll(NodeServices.layer, Logging.layer, oneLinePresenter)),
  // Outside the layers, so a layer that cannot be built (an invalid TOKENBUS_LOG_LEVEL) is reported too.
  Effect.tapCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : report(cause)),
  (program) => NodeRuntime.runMain(program, { disableErrorReporting: true, teardown })
)
