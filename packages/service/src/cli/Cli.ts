/**
 * The `tokenbus` command: `serve` runs a replica from a config file, `dev`
 * runs the embedded default, `get` asks a running service for a token (for
 * operators checking a deployment; the token itself is shown only with
 * `--reveal`), `reset` forces a new token and a retry of rejected credentials.
 */
import { TokenClient } from "@tokenbus/client"
import { defaultPrefix, makeSubjects, protocolVersion, TokenReplyJson } from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { Console, Effect, Layer, Redacted, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Replica from "../replica/Replica.ts"
import { configVariable, loadConfig } from "./ConfigSource.ts"
import { dev } from "./DevCommand.ts"

// Optional here: ConfigSource falls back to the variable, and names whichever it used when the file is wrong.
const configPath = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withDescription(`Path of the JSON configuration file (default: $${configVariable})`),
  Flag.optional
)

const serve = Command.make("serve", { config: configPath }, ({ config }) =>
  loadConfig(config).pipe(
    Effect.flatMap((loaded) => Layer.launch(Replica.layerConnect(loaded)))
  )).pipe(Command.withDescription("Run a tokenbus replica"))

const serversFlag = Flag.String("servers").pipe(
  Flag.withDefault("nats://127.0.0.1:4222"),
  Flag.withDescription("Comma-separated NATS server URLs")
)
const prefixFlag = Flag.String("prefix").pipe(
  Flag.withDefault(defaultPrefix),
  Flag.withDescription("Subject prefix of the service")
)

const get = Command.make("get", {
  provider: Argument.String("provider"),
  servers: serversFlag,
  prefix: prefixFlag,
  reveal: Flag.Boolean("reveal").pipe(Flag.withDefault(false), Flag.withDescription("Print the access token itself"))
}, ({ provider, servers, prefix, reveal }) =>
  Effect.gen(function*() {
    const client = yield* TokenClient
    const token = yield* client.getToken(provider)
    yield* Console.log(JSON.stringify({
      provider: token.provider,
      version: token.version,
      tokenType: token.tokenType,
      reason: token.reason,
      issuedAt: new Date(token.issuedAt).toISOString(),
      expiresAt: token.expiresAt === undefined ? null : new Date(token.expiresAt).toISOString(),
      accessToken: reveal ? Redacted.value(token.accessToken) : "<redacted: pass --reveal>"
    }, null, 2))
  }).pipe(Effect.provide(TokenClient.layerConnect({ servers: servers.split(","), prefix, name: "tokenbus-cli" })))).pipe(
  Command.withDescription("Ask a running tokenbus for a provider's current token")
)

const reset = Command.make("reset", {
  provider: Argument.String("provider"),
  servers: serversFlag,
  prefix: prefixFlag
}, ({ provider, prefix, servers }) =>
  Effect.gen(function*() {
    const nats = yield* NatsConnection
    const request = JSON.stringify({ v: protocolVersion, reason: "operator" })
    const reply = yield* nats.request(makeSubjects(prefix).mint(provider), request, 30_000)
    const answer = yield* Schema.decodeUnknownEffect(TokenReplyJson)(reply)
    if (!answer.ok) return yield* Console.error(`tokenbus reset: ${answer.error.message}`)
    yield* Console.log(`${provider}: new token, version ${answer.token.version}`)
  }).pipe(Effect.provide(NatsConnection.layer({ servers: servers.split(","), name: "tokenbus-cli" })))).pipe(
  Command.withDescription(
    "Force a new token for a provider, and a retry of credentials the upstream rejected (spends the rate budget)"
  )
)

export const cli = Command.make("tokenbus").pipe(
  Command.withDescription("A token broker for rate-limited OAuth2 upstreams, over NATS"),
  Command.withSubcommands([serve, dev, get, reset]),
  Command.run({ version: "0.1.0" })
)
