/**
 * `tokenbus dev`: the embedded default (a local NATS server, the simulated
 * project44 and replicas), from `@tokenbus/devstack`. That package and the
 * simulators are development tools, so the service does not depend on them:
 * they are loaded only when this command runs, and a missing package says
 * how to get it.
 */
import { Data, Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { parseServiceConfig } from "../config/ServiceConfig.ts"
import * as Replica from "../replica/Replica.ts"
import * as Logging from "./Logging.ts"
import { prettyFlag } from "./PrettyFlag.ts"

export class DevStackMissing extends Data.TaggedError("DevStackMissing")<{ readonly message: string }> {}

const loadDevStack = Effect.tryPromise({
  try: () => import("@tokenbus/devstack"),
  catch: () =>
    new DevStackMissing({
      message: "tokenbus dev needs the @tokenbus/devstack package (a development tool): install it beside @tokenbus/service"
    })
})

/** One replica of the stack, from the configuration file's content the stack wrote, until the scope closes. */
const launchReplica = (configJson: string, replicaId: string) =>
  parseServiceConfig(configJson, "tokenbus dev").pipe(
    Effect.flatMap((config) => Layer.build(Replica.layerConnect(config, replicaId)))
  )

export const dev = Command.make("dev", {
  natsPort: Flag.Int("nats-port").pipe(Flag.withDefault(4222), Flag.withDescription("Port of the local NATS server")),
  upstreamPort: Flag.Int("upstream-port").pipe(
    Flag.withDefault(8044),
    Flag.withDescription("Port of the simulated project44 upstream")
  ),
  replicas: Flag.Int("replicas").pipe(Flag.withDefault(2), Flag.withDescription("Replicas to run")),
  sealBus: Flag.Boolean("seal-bus").pipe(
    Flag.withDefault(false),
    Flag.withDescription("Seal access tokens on the bus with a new bus key, and print how a client gets it")
  ),
  pretty: prettyFlag
}, ({ pretty, ...options }) =>
  loadDevStack.pipe(
    Effect.flatMap(({ runDevStack }) => runDevStack(options, launchReplica)),
    Effect.scoped,
    Effect.provide(Logging.forService(undefined, pretty))
  )).pipe(
    Command.withDescription("Run a local NATS server, a simulated project44 and replicas, with nothing else needed")
  )
