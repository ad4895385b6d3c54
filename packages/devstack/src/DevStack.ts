/**
 * `tokenbus dev`: everything on one machine with nothing else running. A
 * local NATS server, the simulated project44 upstream, and replicas brokering
 * its token, all stopped together when the scope closes (Ctrl-C). It prints
 * what to try next, and where the public half of the replicas' signing key
 * is (a new pair each run) for a client that verifies tokens. With `sealBus`
 * the replicas also seal tokens on the bus (a `bus` section with a new key
 * each run), and it prints where that key is for a client that opens them.
 *
 * The replicas are the caller's: `launch` gets the configuration file's
 * content and a replica id and runs one replica in the scope. That keeps this
 * package free of the service (which loads it only for `tokenbus dev`), so
 * the service depends on it and never the other way round.
 */
import { acquireProject44Sim, type Project44SimListenError } from "@tokenbus/sim"
import { generateKeyPairSync, randomBytes } from "node:crypto"
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
  /** Seal the access token on the bus with a new bus key (PROTOCOL.md, "Sealed tokens"); default: in clear. */
  readonly sealBus?: boolean
}

/** Runs one replica from `configJson` (a tokenbus configuration file's content) until the scope closes. */
export type LaunchReplica<E> = (configJson: string, replicaId: string) => Effect.Effect<unknown, E, Scope.Scope>

const CLIENT_ID = "tokenbus-dev"
const BUS_KEY_ID = "dev-bus"

interface SecretFiles {
  readonly clientSecret: string
  /** The key the replicas seal the tokens bucket with: random for each run, like the NATS server's store. */
  readonly storageKey: string
  /** The private key the replicas sign tokens with: a new pair each run. */
  readonly signingKey: string
  /** Its public half, readable by anyone: what a client verifies tokens with (`verifyKey`). */
  readonly verifyKey: string
  /** The bus key (base64 of 32 bytes, its own: never the storage key): what a client opens tokens with (`busKeys`). */
  readonly busKey: string
}

/**
 * The client secret, the storage key, the bus key and the signing key, in files only this user can read, as
 * mounted secrets would be, and the signing key's public half beside them.
 */
const writeSecretFiles = (secret: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await mkdtemp(join(tmpdir(), "tokenbus-dev-"))
      await writeFile(join(dir, "project44-secret"), secret, { mode: 0o600 })
      await writeFile(join(dir, "storage-key"), randomBytes(32).toString("base64"), { mode: 0o600 })
      await writeFile(join(dir, "bus-key"), randomBytes(32).toString("base64"), { mode: 0o600 })
      const signing = generateKeyPairSync("ed25519")
      await writeFile(join(dir, "signing-key.pem"), signing.privateKey.export({ type: "pkcs8", format: "pem" }), {
        mode: 0o600
      })
      await writeFile(join(dir, "verify-key.pem"), signing.publicKey.export({ type: "spki", format: "pem" }))
      return dir
    }),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir): SecretFiles => ({
    clientSecret: join(dir, "project44-secret"),
    storageKey: join(dir, "storage-key"),
    signingKey: join(dir, "signing-key.pem"),
    verifyKey: join(dir, "verify-key.pem"),
    busKey: join(dir, "bus-key")
  })))

/** The configuration file a replica of the dev stack reads: the real path, the secrets in files as in production. */
const devConfigJson = (natsUrl: string, tokenUrl: string, files: SecretFiles, sealBus: boolean): string =>
  JSON.stringify({
    nats: { servers: [natsUrl], name: "tokenbus-dev" },
    storage: { keys: [{ id: "dev", key: { file: files.storageKey } }], writeKey: "dev" },
    signing: { privateKey: { file: files.signingKey } },
    ...(sealBus ? { bus: { keys: [{ id: BUS_KEY_ID, key: { file: files.busKey } }] } } : {}),
    providers: [{
      id: "project44",
      kind: "oauth2-client-credentials",
      tokenUrl,
      clientId: CLIENT_ID,
      clientSecret: { file: files.clientSecret },
      clientAuth: "basic"
    }]
  })

/** How a client gets the bus key: the key itself stays in its file. */
const busKeysHint = (file: string) =>
  `a client's busKeys is [{ id: "${BUS_KEY_ID}", key: <the base64 in ${file}> }] (a new key each run)`

/** Starts the stack, prints what to try, and runs until interrupted. */
export const runDevStack = <E>(
  options: DevStackOptions,
  launch: LaunchReplica<E>
): Effect.Effect<never, E | NatsServerError | Project44SimListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const nats = yield* acquireNatsServer({ port: options.natsPort })
    const clientSecret = randomBytes(16).toString("hex")
    const upstream = yield* acquireProject44Sim({ clientId: CLIENT_ID, clientSecret, port: options.upstreamPort })
    const files = yield* writeSecretFiles(clientSecret)
    const sealBus = options.sealBus === true
    const configJson = devConfigJson(nats.url, upstream.tokenUrl, files, sealBus)
    for (let index = 0; index < options.replicas; index++) {
      yield* launch(configJson, `dev-replica-${index + 1}`)
    }
    yield* Console.error(
      [
        `tokenbus dev is running: NATS ${nats.url}, simulated project44 ${upstream.baseUrl}, ` +
        `${options.replicas} replica(s).`,
        `Get a token:        pnpm tokenbus get project44 --servers ${nats.url}` +
        (sealBus ? ` --bus-key ${BUS_KEY_ID}=${files.busKey}` : ""),
        `Upstream counters:  curl ${upstream.baseUrl}/_sim/counters`,
        `Verify tokens:      a client's verifyKey is the PEM in ${files.verifyKey} (a new key each run)`,
        ...(sealBus ? [`Open sealed tokens: ${busKeysHint(files.busKey)}`] : []),
        "Stop with Ctrl-C."
      ].join("\n")
    )
    return yield* Effect.never
  })
