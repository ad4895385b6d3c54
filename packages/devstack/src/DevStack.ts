/**
 * `tokenbus dev`: everything on one machine with nothing else running. A
 * local NATS server, the simulated project44 upstream, and replicas brokering
 * its token, all stopped together when the scope closes (Ctrl-C). It prints
 * what to try next.
 *
 * The replicas are the caller's: `launch` gets the configuration file's
 * content and a replica id and runs one replica in the scope. That keeps this
 * package free of the service (which loads it only for `tokenbus dev`), so
 * the service depends on it and never the other way round.
 */
import { acquireProject44Sim, type Project44SimListenError } from "@tokenbus/sim"
import { randomBytes } from "node:crypto"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Console, Effect, type Scope } from "effect"
import type { NatsServerError } from "./NatsServerError.ts"
import { acquireNatsServer } from "./NatsServerProcess.ts"

export interface DevStackOptions {
  readonly natsPort: number
  readonly upstreamPort: number
  readonly replicas: number
}

/** Runs one replica from `configJson` (a tokenbus configuration file's content) until the scope closes. */
export type LaunchReplica<E> = (configJson: string, replicaId: string) => Effect.Effect<unknown, E, Scope.Scope>

const CLIENT_ID = "tokenbus-dev"

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

/** The configuration file a replica of the dev stack reads: the real path, the secret in a file as in production. */
const devConfigJson = (natsUrl: string, tokenUrl: string, secretFile: string): string =>
  JSON.stringify({
    nats: { servers: [natsUrl], name: "tokenbus-dev" },
    providers: [{
      id: "project44",
      kind: "oauth2-client-credentials",
      tokenUrl,
      clientId: CLIENT_ID,
      clientSecret: { file: secretFile },
      clientAuth: "basic"
    }]
  })

/** Starts the stack, prints what to try, and runs until interrupted. */
export const runDevStack = <E>(
  options: DevStackOptions,
  launch: LaunchReplica<E>
): Effect.Effect<never, E | NatsServerError | Project44SimListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const nats = yield* acquireNatsServer({ port: options.natsPort })
    const clientSecret = randomBytes(16).toString("hex")
    const upstream = yield* acquireProject44Sim({ clientId: CLIENT_ID, clientSecret, port: options.upstreamPort })
    const secretFile = yield* writeSecretFile(clientSecret)
    const configJson = devConfigJson(nats.url, upstream.tokenUrl, secretFile)
    for (let index = 0; index < options.replicas; index++) {
      yield* launch(configJson, `dev-replica-${index + 1}`)
    }
    yield* Console.error(
      [
        `tokenbus dev is running: NATS ${nats.url}, simulated project44 ${upstream.baseUrl}, ` +
        `${options.replicas} replica(s).`,
        `Get a token:        pnpm tokenbus get project44 --servers ${nats.url}`,
        `Upstream counters:  curl ${upstream.baseUrl}/_sim/counters`,
        "Stop with Ctrl-C."
      ].join("\n")
    )
    return yield* Effect.never
  })
