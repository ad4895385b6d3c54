/**
 * `tokenbus dev`: everything on one machine with nothing else running. A
 * local NATS server, the simulated project44 upstream, and replicas brokering
 * its token, all stopped together on Ctrl-C. It prints what to try next.
 */
import { acquireProject44Sim } from "@tokenbus/sim"
import { randomBytes } from "node:crypto"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Console, Effect, Layer } from "effect"
import { acquireNatsServer } from "./NatsServerProcess.ts"
import * as Replica from "./Replica.ts"
import { parseServiceConfig } from "./ServiceConfig.ts"

export interface DevStackOptions {
  readonly natsPort: number
  readonly upstreamPort: number
  readonly replicas: number
}

/** The client secret, in a file only this user can read, as a mounted secret would be. */
const writeSecretFile = (secret: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await mkdtemp(join(tmpdir(), "tokenbus-dev-"))
      await writeFile(join(dir, "project44-secret"), secret, { mode: 0o600 })
      return dir
    }),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => join(dir, "project44-secret")))

export const runDevStack = (options: DevStackOptions) =>
  Effect.gen(function*() {
    const nats = yield* acquireNatsServer(options.natsPort)
    const clientSecret = randomBytes(16).toString("hex")
    const upstream = yield* acquireProject44Sim({ clientId: "tokenbus-dev", clientSecret, port: options.upstreamPort })
    // The real configuration path, with the secret in a file as in production.
    const secretFile = yield* writeSecretFile(clientSecret)
    const config = yield* parseServiceConfig(
      JSON.stringify({
        nats: { servers: [nats.url], name: "tokenbus-dev" },
        providers: [{
          id: "project44",
          kind: "oauth2-client-credentials",
          tokenUrl: upstream.tokenUrl,
          clientId: "tokenbus-dev",
          clientSecret: { file: secretFile },
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
