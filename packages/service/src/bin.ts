#!/usr/bin/env node
/**
 * Entry point of the `tokenbus` command. SIGTERM and SIGINT interrupt the
 * program, which releases leader locks and drains NATS before exiting.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Config, Console, Effect, Exit, Layer, type Runtime } from "effect"
import { cli } from "./cli/Cli.ts"
import * as PinoLogger from "./logging/PinoLogger.ts"

const Logging = Layer.unwrap(Effect.gen(function*() {
  const level = yield* Config.LogLevel("TOKENBUS_LOG_LEVEL").pipe(Config.withDefault("Info"))
  return PinoLogger.layer(level)
}))

/** Expected failures (bad config, unreachable NATS) get one line; bugs get the full cause. */
const report = (cause: Cause.Cause<{ readonly message: string }>) => {
  const failure = cause.reasons.find(Cause.isFailReason)
  return failure === undefined || Cause.hasDies(cause)
    ? Console.error(Cause.pretty(cause))
    : Console.error(`tokenbus: ${failure.error.message}`)
}

/** SIGTERM and SIGINT end in a clean shutdown, which is a success for a process supervisor. */
const teardown: Runtime.Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)

cli.pipe(
  Effect.tapCause((cause) => Cause.hasInterruptsOnly(cause) ? Effect.void : report(cause)),
  Effect.provide(Layer.mergeAll(NodeServices.layer, Logging)),
  (program) => NodeRuntime.runMain(program, { disableErrorReporting: true, teardown })
)
