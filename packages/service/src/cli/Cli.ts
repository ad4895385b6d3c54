/**
 * The `tokenbus` command: `serve` runs a replica from a config file, `dev`
 * runs the embedded default, `get` asks a running service for a token (for
 * operators checking a deployment; the token itself is shown only with
 * `--reveal`, its signature verified as GetVerifyKey.ts says, and opened
 * when sealed as GetBusKeys.ts says), `reset`
 * forces a new token and a retry of rejected credentials. `get` and `reset`
 * reach NATS as CliConnection.ts says. `keygen` creates a cluster's signing
 * key pair (KeygenCommand.ts). `status`, `watch` and `rotate` are the
 * operator's view and hand (StatusCommand.ts, WatchCommand.ts, RotateCommand.ts).
 */
import { TokenClient, UnsealableToken } from "@tokenbus/client"
import { TokenReplyJson } from "@tokenbus/core"
import { NatsConnection } from "@tokenbus/nats"
import { Console, Effect, Layer, Redacted, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Replica from "../replica/Replica.ts"
import { cliConnection, connectionFlags } from "./CliConnection.ts"
import { configVariable, loadConfig } from "./ConfigSource.ts"
import { operatorMint, operatorMintText } from "./OperatorRequest.ts"
import { sighupReloads } from "./SighupReloads.ts"
import { demo } from "./DemoCommand.ts"
import { dev } from "./DevCommand.ts"
import { busKeyFlag, getBusKeys } from "./GetBusKeys.ts"
import { getVerification, verifyKeyFlag } from "./GetVerifyKey.ts"
import { keygen } from "./KeygenCommand.ts"
import * as Logging from "./Logging.ts"
import { prettyFlag } from "./PrettyFlag.ts"
import { rotate } from "./RotateCommand.ts"
import { status } from "./StatusCommand.ts"
import { watch } from "./WatchCommand.ts"

// Optional here: ConfigSource falls back to the variable, and names whichever it used when the file is wrong.
const configPath = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withDescription(`Path of the JSON configuration file (default: $${configVariable})`),
  Flag.optional
)

const serve = Command.make("serve", { config: configPath, pretty: prettyFlag }, ({ config, pretty }) =>
  loadConfig(config).pipe(
    Effect.flatMap((loaded) =>
      Layer.launch(Replica.layerConnect(loaded, undefined, sighupReloads(config))).pipe(
        Effect.provide(Logging.forService(loaded.log, pretty))
      )
    )
  )).pipe(Command.withDescription("Run a tokenbus replica"))

export const get = Command.make("get", {
  provider: Argument.String("provider"),
  ...connectionFlags,
  reveal: Flag.Boolean("reveal").pipe(Flag.withDefault(false), Flag.withDescription("Print the access token itself")),
  verifyKey: verifyKeyFlag,
  busKey: busKeyFlag
}, ({ busKey, provider, reveal, verifyKey, ...flags }) =>
  Effect.gen(function*() {
    const { nats, prefix } = yield* cliConnection(flags)
    const verification = yield* getVerification({ verifyKey, config: flags.config })
    const verify = verification._tag === "Verify" ? { verifyKey: verification.pem } : {}
    const busKeys = yield* getBusKeys({ busKey, config: flags.config })
    const token = yield* TokenClient.use((client) => client.getToken(provider)).pipe(
      Effect.provide(TokenClient.layerConnect({ nats, prefix, busKeys, ...verify })),
      // The client's message names its option; an operator here passes a flag.
      Effect.catchTag("UnsealableToken", (error) =>
        Effect.fail(
          new UnsealableToken({
            provider: error.provider,
            reason: error.reason,
            keyId: error.keyId,
            message: `${error.message}: pass --bus-key <id>=<file>, or --config with the cluster's bus section`
          })
        ))
    )
    yield* Console.log(JSON.stringify({
      provider: token.provider,
      version: token.version,
      tokenType: token.tokenType,
      reason: token.reason,
      issuedAt: new Date(token.issuedAt).toISOString(),
      expiresAt: token.expiresAt === undefined ? null : new Date(token.expiresAt).toISOString(),
      accessToken: reveal ? Redacted.value(token.accessToken) : "<redacted: pass --reveal>",
      signature: verification._tag === "Verify" ? "verified" : `not checked: ${verification.why}`
    }, null, 2))
  })).pipe(
  Command.withDescription("Ask a running tokenbus for a provider's current token")
)

const reset = Command.make("reset", {
  provider: Argument.String("provider"),
  ...connectionFlags
}, ({ provider, ...flags }) =>
  Effect.gen(function*() {
    const { nats, prefix } = yield* cliConnection(flags)
    const reply = yield* NatsConnection.use((connection) => operatorMint(connection, prefix, provider, 30_000)).pipe(
      Effect.provide(NatsConnection.layer(nats))
    )
    const answer = yield* Schema.decodeUnknownEffect(TokenReplyJson)(reply)
    if (!answer.ok) return yield* Console.error(`tokenbus reset: ${answer.error.message}`)
    const { renewalExpectedAt, token } = answer
    yield* Console.log(operatorMintText({
      provider,
      version: token.version,
      previousVersion: null,
      renewalExpectedAt: renewalExpectedAt === undefined ? null : new Date(renewalExpectedAt).toISOString()
    }))
  })).pipe(
  Command.withDescription(
    "Force a new token for a provider, and a retry of credentials the upstream rejected (spends the rate budget)"
  )
)

export const cli = Command.make("tokenbus").pipe(
  Command.withDescription("A token broker for rate-limited OAuth2 upstreams, over NATS"),
  Command.withSubcommands([serve, demo, dev, get, reset, rotate, status, watch, keygen]),
  Command.run({ version: "0.1.0" })
)
