/**
 * `tokenbus dev`: everything on one machine with nothing else running. A
 * local NATS server, the simulated project44 upstream, and replicas brokering
 * its token, all stopped together on Ctrl-C. It prints what to try next.
 */
import { acquireProject44Sim } from "@tokenbus/sim"
import { randomBytes } from "node:crypto"
import { Console, Effect, Layer } from "effect"
import { acquireNatsServer } from "./NatsServerProcess.ts"
import * as Replica from "./Replica.ts"
import { parseServiceConfig } from "./ServiceConfig.ts"

export interface DevStackOptions {
  readonly natsPort: number
  readonly upstreamPort: number
  readonly replicas: number
}

const secretVariable = "TOKENBUS_DEV_PROJECT44_SECRET"

export const runDevStack = (options: DevStackOptions) =>
  Effect.gen(function*() {
    const nats = yield* acquireNatsServer(options.natsPort)
    const clientSecret = randomBytes(16).toString("hex")
    const upstream = yield* acquireProject44Sim({ clientId: "tokenbus-dev", clientSecret, port: options.upstreamPort })
    // The real configuration path, with the secret in the environment as in production.
    process.env[secretVariable] = clientSecret
    const config = yield* parseServiceConfig(
      JSON.stringify({
        nats: { servers: [nats.url], name: "tokenbus-dev" },
        providers: [{
          id: "project44",
          kind: "oauth2-client-credentials",
          tokenUrl: upstream.tokenUrl,
          clientId: "tokenbus-dev",
          clientSecret: { env: secretVariable },
          clientAuth: "basic"
        }]
      }),
      "tokenbus dev"
    )
    for (let index = 0; index < options.replicas; index++) {
      yield* Layer.build(Replica.layer(config, `dev-replica-${index + 1}`))
    }
    yield* Console.error(
      [
        `tokenbus dev is running: NATS ${nats.url}, simulated project44 ${upstream.baseUrl}, ${options.replicas} replica(s).`,
        `Get a token:        pnpm tokenbus get project44 --servers ${nats.url}`,
        `Upstream counters:  curl ${upstream.baseUrl}/_sim/counters`,
        "Stop with Ctrl-C."
      ].join("\n")
    )
    return yield* Effect.never
  })
