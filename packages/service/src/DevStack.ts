/**
 * `tokenbus dev`: everything on one machine with nothing else running. A
 * local NATS server, the simulated project44 upstream, and replicas brokering
 * its token, all stopped together on Ctrl-C. It prints what to try next.
 */
import { defaultLeaseConfig, defaultPrefix } from "@tokenbus/core"
import { acquireProject44Sim } from "@tokenbus/sim"
import { randomBytes } from "node:crypto"
import { Console, Effect, Layer, Redacted } from "effect"
import { acquireNatsServer } from "./NatsServerProcess.ts"
import * as Replica from "./Replica.ts"
import type { ServiceConfig } from "./ServiceConfig.ts"

export interface DevStackOptions {
  readonly natsPort: number
  readonly upstreamPort: number
  readonly replicas: number
}

export const runDevStack = (options: DevStackOptions) =>
  Effect.gen(function*() {
    const nats = yield* acquireNatsServer(options.natsPort)
    const clientSecret = randomBytes(16).toString("hex")
    const upstream = yield* acquireProject44Sim({ clientId: "tokenbus-dev", clientSecret, port: options.upstreamPort })
    const config: ServiceConfig = {
      nats: { servers: [nats.url], name: "tokenbus-dev" },
      prefix: defaultPrefix,
      lease: defaultLeaseConfig,
      requestTimeoutMillis: 5_000,
      providers: [{
        id: "project44",
        kind: "oauth2-client-credentials",
        tokenUrl: upstream.tokenUrl,
        clientId: "tokenbus-dev",
        clientSecret: Redacted.make(clientSecret),
        clientAuth: "basic",
        timeoutMillis: 10_000
      }]
    }
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
