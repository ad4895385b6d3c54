/**
 * `tokenbus status`: the replicas, and per provider who leads it (the fence
 * in its state), its token's version, reason, age and expiry, the budget
 * left and the breaker, read from KV without changing anything
 * (status/ReadStatus.ts). A table by default; `--json` prints the status as
 * data, in the shape README's "Operating it" documents.
 */
import { NatsConnection } from "@tokenbus/nats"
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { readStatus } from "../status/ReadStatus.ts"
import { cliConnection, connectionFlags } from "./CliConnection.ts"
import { providerLimits } from "./ProviderLimits.ts"
import { statusTable } from "./StatusTable.ts"

export const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDefault(false),
  Flag.withDescription("Print JSON for scripts instead of text")
)

export const status = Command.make("status", { ...connectionFlags, json: jsonFlag }, ({ json, ...flags }) =>
  Effect.gen(function*() {
    const { nats, prefix } = yield* cliConnection(flags)
    const { limitOf, providers } = yield* providerLimits(flags.config)
    const status = yield* readStatus({ prefix, providers, limitOf }).pipe(Effect.provide(NatsConnection.layer(nats)))
    yield* Console.log(json ? JSON.stringify(status, null, 2) : statusTable(status))
  })).pipe(
  Command.withDescription(
    "Show the replicas and, per provider, its leader and term, token version, age, expiry, budget left and breaker"
  )
)
