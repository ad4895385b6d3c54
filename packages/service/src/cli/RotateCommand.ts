/**
 * `tokenbus rotate <provider>`: a new token now, within the rate budget. It
 * sends the leader the same `operator` mint request as `tokenbus reset`, and
 * differs in what it will do: it first reads the provider's state and
 * refuses while the breaker is open, since the leader clears the breaker for
 * an operator's request and a rotation is no reason to retry credentials the
 * upstream rejected (that is `reset`). It answers with the new version, or,
 * when the budget is spent, with when the leader expects to mint (the token
 * then arrives on the updates subject without another request), and never
 * with the token itself.
 */
import { makeSubjects, TokenReplyJson } from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { Console, Data, Effect, Option, Schema } from "effect"
import { Argument, Command } from "effect/cli"
import { viewOf } from "../status/StateView.ts"
import { lastEntry } from "../status/internal/JetStreamReads.ts"
import { cliConnection, connectionFlags } from "./CliConnection.ts"
import { operatorMint, operatorMintText } from "./OperatorRequest.ts"
import { jsonFlag } from "./StatusCommand.ts"

/** The leader's answer is 30 s away at most: a mint's retries end well within it. */
const answerMillis = 30_000

export class RotateError extends Data.TaggedError("RotateError")<{ readonly message: string }> {}

const decodeReply = Schema.decodeUnknownEffect(TokenReplyJson)

/** The provider's stored state, readable parts only: its current version, and whether its breaker is open. */
const current = Effect.fnUntraced(function*(nats: NatsConnection["Service"], prefix: string, provider: string) {
  const entry = yield* lastEntry(nats, makeSubjects(prefix).tokenBucket, provider)
  const view = Option.flatMap(
    Option.filter(entry, (found) => found.operation === "PUT"),
    (found) => viewOf(found.value, found.revision)
  )
  return Option.getOrUndefined(view)
})

const rotation = Effect.fnUntraced(function*(prefix: string, provider: string) {
  const nats = yield* NatsConnection
  const before = yield* current(nats, prefix, provider)
  if (before?.breaker !== undefined) {
    return yield* new RotateError({
      message: `${provider}'s breaker is open (${before.breaker.reason}); rotate does not retry credentials the ` +
        `upstream rejected: fix them, or run \`tokenbus reset ${provider}\` to retry them`
    })
  }
  const text = yield* operatorMint(nats, prefix, provider, answerMillis).pipe(
    Effect.mapError((error) => new RotateError({ message: `no answer from ${provider}'s leader: ${error.message}` }))
  )
  const reply = yield* decodeReply(text).pipe(
    Effect.mapError(() => new RotateError({ message: `${provider}'s leader answered something that does not decode` }))
  )
  if (!reply.ok) return yield* new RotateError({ message: `${provider}: ${reply.error.message}` })
  const { token } = reply
  return {
    provider,
    rotated: reply.renewalExpectedAt === undefined,
    version: token.version,
    previousVersion: before?.token?.version ?? null,
    reason: token.reason,
    expiresAt: token.expiresAt === undefined ? null : new Date(token.expiresAt).toISOString(),
    renewalExpectedAt: reply.renewalExpectedAt === undefined ? null : new Date(reply.renewalExpectedAt).toISOString()
  }
})

export const rotate = Command.make("rotate", {
  provider: Argument.String("provider"),
  ...connectionFlags,
  json: jsonFlag
}, ({ json, provider, ...flags }) =>
  Effect.gen(function*() {
    const { nats, prefix } = yield* cliConnection(flags)
    const done = yield* rotation(prefix, provider).pipe(Effect.provide(NatsConnection.layer(nats)))
    yield* Console.log(json ? JSON.stringify(done, null, 2) : operatorMintText(done))
  })).pipe(
  Command.withDescription(
    "Mint a new token for a provider now, within its rate budget (refused while its breaker is open: see reset)"
  )
)
