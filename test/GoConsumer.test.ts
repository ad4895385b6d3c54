// A consumer in a second language, written from PROTOCOL.md alone
// (examples/go-consumer), against three replicas and the simulated
// project44: built here with Debian's Go and nats.go, run as a child process,
// and judged by the JSON lines it prints and the upstream's counters. If
// PROTOCOL.md stops being enough for a client, or the service stops doing
// what it says, these tests fail. It is given the cluster's public key, so
// every token it uses is one whose signature it checked itself, from the
// canonical form PROTOCOL.md describes; against a cluster that seals the bus,
// given its bus key, it opens the tokens itself (Go's AES-GCM), and without
// the key it uses none.
import { execFile, spawn } from "node:child_process"
import { generateKeyPairSync } from "node:crypto"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { PROVIDER, randomPrefix, sleep, waitUntil } from "@tokenbus/testing"
import { afterAll, describe, expect, inject, it, onTestFinished } from "vitest"
import { clusterForTest, useReplicaCluster } from "./support/ServiceFixture.ts"

const SOURCE_DIR = fileURLToPath(new URL("../examples/go-consumer/", import.meta.url))
/** Between rounds: time for the test to act on one round's output before the next. */
const INTERVAL = "2s"
/** After the run, how long to keep watching for a late mint. */
const SETTLE_MS = 750

interface Step {
  readonly step: string
  readonly [field: string]: unknown
}

interface ConsumerRun {
  /** Every line printed so far, parsed; a line that is not JSON is kept as `{ step: "not-json" }`. */
  readonly steps: Array<Step>
  readonly exited: Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>
}

const execFileAsync = promisify(execFile)

/** The environment `go` builds and tests with: Debian's packages, no module download. */
const goEnv = (dir: string) => ({
  ...process.env,
  GO111MODULE: "off",
  GOPATH: "/usr/share/gocode",
  GOCACHE: join(dir, "gocache")
})

/** `content` in a file of its own, removed when the test ends: what `--verify-key` and `--bus-key` read. */
const keyFile = async (content: string, name = "verify-key.pem"): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), "tokenbus-go-key-"))
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, name)
  await writeFile(path, content)
  return path
}

/**
 * Builds the consumer as its README says, with no module download, into a
 * new temp folder; throws saying how to get `go` when it is missing.
 */
const buildConsumer = async (): Promise<{ readonly dir: string; readonly binary: string }> => {
  const dir = await mkdtemp(join(tmpdir(), "tokenbus-go-consumer-"))
  const binary = join(dir, "consumer")
  try {
    await execFileAsync("go", ["build", "-o", binary, "."], { cwd: SOURCE_DIR, env: goEnv(dir) })
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    const failure = error as { readonly code?: unknown; readonly stderr?: unknown }
    if (failure.code === "ENOENT") {
      throw new Error(
        "`go` is not installed: scripts/test installs it (ensure_go in scripts/ensure.sh: " +
          "apt-get install golang-go golang-github-nats-io-go-nats-dev)"
      )
    }
    throw new Error(`go build of examples/go-consumer failed:\n${String(failure.stderr ?? error)}`)
  }
  return { dir, binary }
}

const parseStep = (line: string): Step => {
  try {
    return JSON.parse(line) as Step
  } catch {
    return { step: "not-json", line }
  }
}

const runConsumer = (binary: string, args: ReadonlyArray<string>): ConsumerRun => {
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] })
  const steps: Array<Step> = []
  let stdout = ""
  let stderr = ""
  createInterface({ input: child.stdout }).on("line", (line) => {
    stdout += `${line}\n`
    steps.push(parseStep(line))
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    // "close" comes after stdout is read to its end, so every line is in `steps`.
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })
  onTestFinished(() => {
    if (child.exitCode === null) child.kill("SIGKILL")
  })
  return { steps, exited }
}

const waitForStep = async (run: ConsumerRun, wanted: Partial<Step>, timeoutMs = 15_000): Promise<Step> => {
  const matches = (step: Step) => Object.entries(wanted).every(([key, value]) => step[key] === value)
  await waitUntil(
    () => run.steps.some(matches),
    timeoutMs,
    `no step ${JSON.stringify(wanted)}; saw ${JSON.stringify(run.steps)}`
  )
  return run.steps.find(matches) as Step
}

const stepsNamed = (steps: ReadonlyArray<Step>, name: string) => steps.filter((step) => step.step === name)

describe("the Go consumer of examples/go-consumer", () => {
  // The first test reports a token minted because of a report seconds later;
  // the circuit breaker would take that for broken credentials.
  const fixture = useReplicaCluster({ replicas: 3, provider: { circuitBreaker: { freshTokenMillis: 0 } } })
  // Built by the first test that needs it, inside that test, so a missing `go` fails every test rather than
  // skipping them as a failed hook would.
  let build: Promise<{ readonly dir: string; readonly binary: string }> | undefined
  const consumerBinary = async () => (await (build ??= buildConsumer())).binary
  afterAll(async () => {
    const built = await build?.catch(() => undefined)
    if (built !== undefined) await rm(built.dir, { recursive: true, force: true })
  })

  const argsFor = (rounds: number, resourceUrl: string, verifyKey: string, prefix = fixture.cluster.prefix) => [
    ...["--servers", inject("natsUrl"), "--prefix", prefix, "--provider", PROVIDER],
    ...["--resource-url", resourceUrl, "--rounds", String(rounds), "--interval", INTERVAL, "--verify-key", verifyKey]
  ]
  const clusterKey = () => keyFile(fixture.cluster.verifyKey)

  it("follows updates, and recovers from a revoked token with one report, one mint and one retry", async () => {
    const binary = await consumerBinary()
    const { cluster } = fixture
    const first = await cluster.firstToken()
    const before = cluster.sim.counters()
    const run = runConsumer(binary, argsFor(4, cluster.sim.resourceUrl, await clusterKey()))

    expect(await waitForStep(run, { step: "call", round: 1 })).toMatchObject({ version: first.version, status: 200 })
    // A newer token, minted without the consumer asking: it must come by the updates subject.
    const second = await cluster.reportUnauthorized(first.version)
    if (!second.ok) throw new Error(`report failed: ${JSON.stringify(second.error)}`)
    expect(await waitForStep(run, { step: "update", version: second.token.version })).toMatchObject({ kept: true })
    expect(await waitForStep(run, { step: "call", round: 2 })).toMatchObject({
      version: second.token.version,
      status: 200
    })

    const atRevocation = cluster.sim.counters()
    cluster.sim.revoke(second.token.accessToken)
    const { code, stdout, stderr } = await run.exited
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" })

    const steps = run.steps
    expect(stepsNamed(steps, "not-json")).toEqual([])
    const third = await cluster.getToken()
    expect(third.version).toBeGreaterThan(second.token.version)
    expect(third.reason).toBe("unauthorized-report")
    expect(stepsNamed(steps, "call")).toEqual([
      { step: "call", round: 1, version: first.version, status: 200 },
      { step: "call", round: 2, version: second.token.version, status: 200 },
      { step: "call", round: 3, version: second.token.version, status: 401 },
      { step: "call", round: 4, version: third.version, status: 200 }
    ])
    expect(stepsNamed(steps, "unauthorized")).toMatchObject([
      { round: 3, reported: second.token.version, version: third.version, reason: "unauthorized-report" }
    ])
    expect(stepsNamed(steps, "retry")).toEqual([{ step: "retry", round: 3, version: third.version, status: 200 }])
    // It asked for a token once, at the start; every other token came from updates or the report's reply.
    expect(stepsNamed(steps, "get")).toMatchObject([{ version: first.version, attempts: 1 }])
    expect(stepsNamed(steps, "subscribed")).toMatchObject([{ verified: true }])
    expect(stepsNamed(steps, "update-refused")).toEqual([])
    expect(steps.at(-1)).toEqual({ step: "done", rounds: 4, version: third.version })

    await sleep(SETTLE_MS)
    const after = cluster.sim.counters()
    expect(after.mints - atRevocation.mints).toBe(1)
    expect(after.tokenRequests - atRevocation.tokenRequests).toBe(1)
    expect(after.resourceUnauthorized - atRevocation.resourceUnauthorized).toBe(1)
    expect(after.resourceOk - atRevocation.resourceOk).toBe(2)
    expect(after.resourceOk - before.resourceOk).toBe(4)
    expect(after.rateLimited).toBe(0)
    for (const token of cluster.sim.issuedTokens()) expect(stdout.includes(token)).toBe(false)
  })

  it("retries once when the fresh token is refused too, then fails instead of looping", async () => {
    const binary = await consumerBinary()
    const { cluster } = fixture
    const held = await cluster.firstToken().then(() => cluster.getToken())
    // A resource that refuses every token.
    let calls = 0
    const refusing = createServer((req, res) => {
      calls += 1
      req.resume()
      res.writeHead(401, { "WWW-Authenticate": "Bearer" }).end()
    })
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve))
    onTestFinished(() => new Promise<void>((resolve) => refusing.close(() => resolve())))
    const { port } = refusing.address() as AddressInfo
    const before = cluster.sim.counters()

    const run = runConsumer(binary, argsFor(3, `http://127.0.0.1:${port}/api/v4/shipments`, await clusterKey()))
    const { code, stderr } = await run.exited
    expect(code).toBe(1)
    expect(stderr).toContain("round 1: the resource answered 401 to the token tokenbus sent after the 401 too")
    // The new token's update may come before or after the report's reply.
    const order = run.steps.map((step) => step.step).filter((step) => step !== "update")
    expect(order).toEqual(["subscribed", "get", "call", "unauthorized", "retry", "failed"])
    expect(stepsNamed(run.steps, "unauthorized")).toMatchObject([{ reported: held.version }])
    expect(calls).toBe(2)

    await sleep(SETTLE_MS)
    expect(cluster.sim.counters().mints - before.mints).toBe(1)
  })

  it("after a 401 with the rate budget spent, waits for the renewal instead of retrying the refused token", async () => {
    const binary = await consumerBinary()
    // Two upstream calls per 8 s: the initial mint and the first report's use it up.
    const cluster = await clusterForTest({
      replicas: 2,
      provider: { rateLimit: { tokens: 2, windowMillis: 8000, burst: 2 }, circuitBreaker: { freshTokenMillis: 0 } }
    })
    const first = await cluster.firstToken()
    const verifyKey = await keyFile(cluster.verifyKey)
    const run = runConsumer(binary, argsFor(3, cluster.sim.resourceUrl, verifyKey, cluster.prefix))
    await waitForStep(run, { step: "call", round: 1, status: 200 })
    cluster.sim.revoke(first.accessToken)
    const recovered = await waitForStep(run, { step: "retry", round: 2, status: 200 })
    cluster.sim.revoke((await cluster.getToken()).accessToken)
    const { code, stderr } = await run.exited
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" })

    // The reply to the second report carried the refused token itself, and when its successor was due.
    const reports = stepsNamed(run.steps, "unauthorized")
    expect(reports).toMatchObject([
      { round: 2, reported: first.version, version: recovered["version"] },
      { round: 3, reported: recovered["version"], version: recovered["version"], renewalExpectedAt: expect.any(Number) }
    ])
    const third = await cluster.getToken()
    expect(third.version).toBeGreaterThan(recovered["version"] as number)
    expect(stepsNamed(run.steps, "retry")).toEqual([
      { step: "retry", round: 2, version: recovered["version"], status: 200 },
      { step: "retry", round: 3, version: third.version, status: 200 }
    ])
    expect(cluster.sim.counters()).toMatchObject({ mints: 3, resourceUnauthorized: 2, resourceOk: 3, rateLimited: 0 })
  })

  it("rebuilds the canonical bytes and signature of PROTOCOL.md's example (go test)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tokenbus-go-test-"))
    onTestFinished(() => rm(dir, { recursive: true, force: true }))
    const { stdout } = await execFileAsync("go", ["test", "-v", "."], { cwd: SOURCE_DIR, env: goEnv(dir) })
    expect(stdout).toContain("--- PASS: TestCanonicalBytesOfTheExample")
    expect(stdout).toContain("--- PASS: TestTheExampleVerifies")
    expect(stdout).toContain("--- PASS: TestTheSealedExampleHasTheDocumentsBytes")
    expect(stdout).toContain("--- PASS: TestTheSealedExampleOpensAndVerifies")
  })

  it("refuses forged updates and keeps using the cluster's token", async () => {
    const binary = await consumerBinary()
    const { cluster } = fixture
    const held = await cluster.firstToken().then(() => cluster.getToken())
    const run = runConsumer(binary, argsFor(2, cluster.sim.resourceUrl, await clusterKey()))
    await waitForStep(run, { step: "call", round: 1, status: 200 })
    const forged = { ...held, version: held.version + 1000, accessToken: "forged" }
    const wrongSignature = Buffer.alloc(64, 7).toString("base64")
    cluster.nats.publish(cluster.subjects.updates(), JSON.stringify({ v: 1, token: forged }))
    cluster.nats.publish(cluster.subjects.updates(), JSON.stringify({ v: 1, token: forged, signature: wrongSignature }))
    cluster.nats.publish(
      cluster.subjects.updates(),
      JSON.stringify({ v: 1, token: { ...held, version: Number.MAX_SAFE_INTEGER }, signature: wrongSignature })
    )
    const { code, stderr } = await run.exited
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" })
    expect(stepsNamed(run.steps, "update-refused")).toMatchObject([
      { version: forged.version, reason: "the token is not signed" },
      { version: forged.version, reason: "the token's signature does not verify with the cluster's key" },
      { version: Number.MAX_SAFE_INTEGER, reason: `version ${Number.MAX_SAFE_INTEGER} is far ahead of this clock` }
    ])
    expect(stepsNamed(run.steps, "call")).toMatchObject([
      { round: 1, version: held.version, status: 200 },
      { round: 2, version: held.version, status: 200 }
    ])
  })

  it("given another key than the cluster's, refuses the cluster's reply and fails", async () => {
    const binary = await consumerBinary()
    await fixture.cluster.firstToken()
    const other = String(generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }))
    const run = runConsumer(binary, argsFor(1, fixture.cluster.sim.resourceUrl, await keyFile(other)))
    const { code, stderr } = await run.exited
    expect(code).toBe(1)
    expect(stderr).toMatch(/reply on .*\.get dropped: the token's signature does not verify with the cluster's key/)
    expect(stepsNamed(run.steps, "call")).toEqual([])
  })

  it("against a cluster that seals the bus, opens its tokens with the bus key, and uses none without it", async () => {
    const binary = await consumerBinary()
    const cluster = await clusterForTest({ replicas: 2, bus: true })
    const sealed = await cluster.firstToken()
    expect(sealed.accessToken).toBeUndefined()
    const [busKey] = cluster.busKeys
    if (busKey === undefined) throw new Error("the cluster has no bus key")
    const verifyKey = await keyFile(cluster.verifyKey)
    const busKeyFile = await keyFile(busKey.key, "bus.key")
    const before = cluster.sim.counters()

    const run = runConsumer(binary, [
      ...argsFor(2, cluster.sim.resourceUrl, verifyKey, cluster.prefix),
      ...["--bus-key", `${busKey.id}=${busKeyFile}`]
    ])
    const { code, stdout, stderr } = await run.exited
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" })
    expect(stepsNamed(run.steps, "subscribed")).toMatchObject([{ verified: true, busKeys: 1 }])
    expect(stepsNamed(run.steps, "call")).toMatchObject([
      { round: 1, version: sealed.version, status: 200 },
      { round: 2, version: sealed.version, status: 200 }
    ])
    // The resource accepted the token the consumer opened: the one the upstream issued.
    expect(cluster.sim.counters().resourceOk - before.resourceOk).toBe(2)
    for (const token of cluster.sim.issuedTokens()) expect(stdout.includes(token)).toBe(false)

    const keyless = runConsumer(binary, argsFor(1, cluster.sim.resourceUrl, verifyKey, cluster.prefix))
    const refused = await keyless.exited
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      new RegExp(`reply on .*\\.get dropped: the token is sealed with bus key ${busKey.id}, which this consumer`)
    )
    expect(stepsNamed(keyless.steps, "call")).toEqual([])
  })

  it("fails at once with a message when no replica serves the prefix", async () => {
    const binary = await consumerBinary()
    const started = Date.now()
    const run = runConsumer(binary, argsFor(1, fixture.cluster.sim.resourceUrl, await clusterKey(), randomPrefix()))
    const { code, stderr } = await run.exited
    expect(code).toBe(1)
    expect(stderr).toMatch(/no tokenbus replica answered \(no responders on .*\.token\.project44\.get\)/)
    expect(stepsNamed(run.steps, "failed")).toHaveLength(1)
    // "No responders" is not a timeout: no 7 s wait, no retry.
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
