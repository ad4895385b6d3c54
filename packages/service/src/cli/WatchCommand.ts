/**
 * `tokenbus watch`: one line per event as it happens, never a token's value:
 * new tokens (version, reason, expiry), leader changes, the breaker opening
 * or closing, the budget spent (status/WatchEvents.ts). Runs until Ctrl-C,
 * or for `--for <seconds>`, or until `--count <n>` events were printed;
 * `--json` prints each event as a JSON object on its own line. "watching"
 * goes to stderr once nothing from then on can be missed.
 */
import { NatsConnection } from "@tokenbus/nats"
import { Console, Duration, Effect, Option, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { openWatch } from "../status/WatchEvents.ts"
import { cliConnection, connectionFlags } from "./CliConnection.ts"
import { eventLine } from "./EventLine.ts"
import { providerLimits } from "./ProviderLimits.ts"
import { jsonFlag } from "./StatusCommand.ts"

const positive = Flag.filterMap(
  (n: number) => (n > 0 ? Option.some(n) : Option.none()),
  (n) => `expected a positive whole number, got ${n}`
)

const forFlag = Flag.Int("for").pipe(
  positive,
  Flag.withDescription("Stop after this many seconds"),
  Flag.optional
)

const countFlag = Flag.Int("count").pipe(
  positive,
  Flag.withDescription("Stop after this many events"),
  Flag.optional
)

export const watch = Command.make("watch", { ...connectionFlags, json: jsonFlag, for: forFlag, count: countFlag }, (
  { count, for: seconds, json, ...flags }
) =>
  Effect.gen(function*() {
    const { nats, prefix } = yield* cliConnection(flags)
    const { limitOf } = yield* providerLimits(flags.config)
    const run = Effect.gen(function*() {
      const events = yield* openWatch({ prefix, limitOf })
      yield* Console.error(`watching ${prefix} (Ctrl-C to stop)`)
      const counted = Option.match(count, { onNone: () => events, onSome: (n) => Stream.take(events, n) })
      const bounded = Option.match(seconds, {
        onNone: () => counted,
        onSome: (s) => Stream.interruptWhen(counted, Effect.sleep(Duration.seconds(s)))
      })
      yield* Stream.runForEach(bounded, (event) => Console.log(json ? JSON.stringify(event) : eventLine(event)))
    })
    yield* Effect.scoped(run).pipe(Effect.provide(NatsConnection.layer(nats)))
  })).pipe(
  Command.withDescription("Print token events as they happen (new versions, leader, breaker, budget), never a token")
)
