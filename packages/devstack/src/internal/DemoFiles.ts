/**
 * What the demo's replicas read: a configuration file and the secrets it
 * names, in a temp dir only this user can read (removed when the demo
 * ends), beside the file the replicas' logs go to. The configuration is the
 * real one a deployment writes, on a fast time scale: a budget of a few
 * mints in a few seconds, so the story reaches the budget's edge in seconds
 * rather than minutes.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"

export const DEMO_PROVIDER = "project44"
export const DEMO_CLIENT_ID = "tokenbus-demo"

/** The demo's budget for project44: its real limit is 5 tokens a minute, here 5 in 10 s. */
export const demoRateLimit = { tokens: 5, windowMillis: 10_000 } as const

export interface DemoFiles {
  readonly dir: string
  readonly configPath: string
  /** The public half of the replicas' signing key: what the fleet verifies tokens with. */
  readonly verifyKeyPem: string
  /** Where the replicas' log lines (and the demo's own) go. */
  readonly logPath: string
}

const configJson = (natsUrl: string, tokenUrl: string, dir: string): string =>
  JSON.stringify({
    nats: { servers: [natsUrl], name: "tokenbus-demo" },
    storage: { keys: [{ id: "demo", key: { file: join(dir, "storage-key") } }], writeKey: "demo" },
    signing: { privateKey: { file: join(dir, "signing-key.pem") } },
    // Port 0: each replica takes a free port and logs it ("http listening").
    http: { port: 0, host: "127.0.0.1" },
    providers: [{
      id: DEMO_PROVIDER,
      kind: "oauth2-client-credentials",
      tokenUrl,
      clientId: DEMO_CLIENT_ID,
      clientSecret: { file: join(dir, "project44-secret") },
      clientAuth: "basic",
      rateLimit: demoRateLimit,
      // The demo revokes fresh tokens on purpose: the rule that trips the breaker on a fresh token's 401 is off.
      circuitBreaker: { freshTokenMillis: 0 }
    }]
  }, null, 2)

/** Writes the files for a stack on `natsUrl` and `tokenUrl`; all removed when the scope closes. */
export const writeDemoFiles = (natsUrl: string, tokenUrl: string, clientSecret: string) =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<DemoFiles> => {
      const dir = await mkdtemp(join(tmpdir(), "tokenbus-demo-"))
      const signing = generateKeyPairSync("ed25519")
      const verifyKeyPem = signing.publicKey.export({ type: "spki", format: "pem" }).toString()
      await writeFile(join(dir, "project44-secret"), clientSecret, { mode: 0o600 })
      await writeFile(join(dir, "storage-key"), randomBytes(32).toString("base64"), { mode: 0o600 })
      await writeFile(join(dir, "signing-key.pem"), signing.privateKey.export({ type: "pkcs8", format: "pem" }), {
        mode: 0o600
      })
      const configPath = join(dir, "config.json")
      await writeFile(configPath, configJson(natsUrl, tokenUrl, dir), { mode: 0o600 })
      return { dir, configPath, verifyKeyPem, logPath: join(tmpdir(), `${dir.split("/").at(-1)}.log`) }
    }),
    // The log stays: it is what a reader looks at after the demo.
    (files) => Effect.promise(() => rm(files.dir, { recursive: true, force: true }))
  )
