/**
 * What the demo's replicas read: a configuration file and the secrets it
 * names, in a temp dir only this user can read (removed when the demo
 * ends), beside the file the replicas' logs go to. The configuration is the
 * real one a deployment writes, on a fast time scale: a budget of a few
 * mints in a few seconds, so the story reaches the budget's edge in seconds
 * rather than minutes. Beside project44 it has an `itempath` provider on
 * the simulated ItemPath, whose access tokens live 30 s here (ItemPath's
 * 15 minutes on a fast time scale), so its leader renews them during the story.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"

export const DEMO_PROVIDER = "project44"
export const DEMO_CLIENT_ID = "tokenbus-demo"
export const DEMO_ITEMPATH = "itempath"
export const DEMO_ITEMPATH_USER = "tokenbus-demo"
/** How long ItemPath's access tokens live in the demo: its 15 minutes, 30 times faster. */
export const DEMO_ITEMPATH_TIME_SCALE = 30

/** The demo's budget for project44: its real limit is 5 tokens a minute, here 5 in 10 s. */
export const demoRateLimit = { tokens: 5, windowMillis: 10_000 } as const
/** ItemPath documents no limit; the demo keeps its leader to the same fast-scale budget. */
export const demoItemPathRateLimit = { tokens: 5, windowMillis: 10_000 } as const

/** Where the demo's simulated upstreams answer, and the secrets they expect. */
export interface DemoUpstreams {
  readonly natsUrl: string
  readonly tokenUrl: string
  readonly clientSecret: string
  readonly itemPathUrl: string
  readonly itemPathPassword: string
}

export interface DemoFiles {
  readonly dir: string
  readonly configPath: string
  /** The public half of the replicas' signing key: what the fleet verifies tokens with. */
  readonly verifyKeyPem: string
  /** Where the replicas' log lines (and the demo's own) go. */
  readonly logPath: string
}

const configJson = (upstreams: DemoUpstreams, dir: string): string =>
  JSON.stringify({
    nats: { servers: [upstreams.natsUrl], name: "tokenbus-demo" },
    storage: { keys: [{ id: "demo", key: { file: join(dir, "storage-key") } }], writeKey: "demo" },
    signing: { privateKey: { file: join(dir, "signing-key.pem") } },
    // Port 0: each replica takes a free port and logs it ("http listening").
    http: { port: 0, host: "127.0.0.1" },
    providers: [{
      id: DEMO_PROVIDER,
      kind: "oauth2-client-credentials",
      tokenUrl: upstreams.tokenUrl,
      clientId: DEMO_CLIENT_ID,
      clientSecret: { file: join(dir, "project44-secret") },
      clientAuth: "basic",
      rateLimit: demoRateLimit,
      // The demo revokes fresh tokens on purpose: the rule that trips the breaker on a fresh token's 401 is off.
      circuitBreaker: { freshTokenMillis: 0 }
    }, {
      id: DEMO_ITEMPATH,
      kind: "itempath",
      baseUrl: upstreams.itemPathUrl,
      username: DEMO_ITEMPATH_USER,
      password: { file: join(dir, "itempath-password") },
      accessTokenLifetimeSeconds: 900 / DEMO_ITEMPATH_TIME_SCALE,
      rateLimit: demoItemPathRateLimit
    }]
  }, null, 2)

/** Writes the files for a stack on `upstreams`; all removed when the scope closes. */
export const writeDemoFiles = (upstreams: DemoUpstreams) =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<DemoFiles> => {
      const dir = await mkdtemp(join(tmpdir(), "tokenbus-demo-"))
      const signing = generateKeyPairSync("ed25519")
      const verifyKeyPem = signing.publicKey.export({ type: "spki", format: "pem" }).toString()
      await writeFile(join(dir, "project44-secret"), upstreams.clientSecret, { mode: 0o600 })
      await writeFile(join(dir, "itempath-password"), upstreams.itemPathPassword, { mode: 0o600 })
      await writeFile(join(dir, "storage-key"), randomBytes(32).toString("base64"), { mode: 0o600 })
      await writeFile(join(dir, "signing-key.pem"), signing.privateKey.export({ type: "pkcs8", format: "pem" }), {
        mode: 0o600
      })
      const configPath = join(dir, "config.json")
      await writeFile(configPath, configJson(upstreams, dir), { mode: 0o600 })
      return { dir, configPath, verifyKeyPem, logPath: join(tmpdir(), `${dir.split("/").at(-1)}.log`) }
    }),
    // The log stays: it is what a reader looks at after the demo.
    (files) => Effect.promise(() => rm(files.dir, { recursive: true, force: true }))
  )
