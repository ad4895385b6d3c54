// @tokenbus/testkit as a consumer's integration test uses it: one call
// starts NATS in a container, the simulated project44 and two replicas; the
// kit's connection options go straight into TokenbusClient.connect, and its
// controls (revoke, failNext, setRateLimit) produce what a consumer must
// survive, seen through the client and the upstream's counters. Stopping it
// (stop() or `await using`) must leave no container, process or temp file.
import { execFile } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname } from "node:path"
import { promisify } from "node:util"
import { TokenbusClient } from "@tokenbus/client"
import { startTokenbus, TestKitError, type TokenbusKit } from "@tokenbus/testkit"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"

const run = promisify(execFile)

/** The kit's containers Docker still knows, running or not. */
const containersOf = async (kit: TokenbusKit): Promise<string> =>
  (await run("docker", ["ps", "-a", "-q", "--filter", `label=org.tokenbus.testkit=${kit.prefix}`])).stdout.trim()

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The configuration file a running replica was started with (`serve --config <file>`). */
const configPathOf = (pid: number): string => {
  const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
  return args[args.indexOf("--config") + 1] ?? ""
}

const pidsOf = (kit: TokenbusKit): Array<number> => kit.replicas.map((replica) => replica.pid ?? 0)

describe("startTokenbus", () => {
  let kit: TokenbusKit | undefined
  let client: TokenbusClient | undefined
  const progress: Array<string> = []
  const seenPids = new Set<number>()
  const the = () => {
    if (kit === undefined || client === undefined) throw new Error("the kit did not start")
    return { kit, client }
  }

  beforeAll(async () => {
    kit = await startTokenbus({
      // Tests here revoke tokens seconds apart: the breaker's fresh-token rule would (rightly) stop minting.
      circuitBreaker: { freshTokenMillis: 0 },
      log: (line) => {
        progress.push(line)
        process.stderr.write(`[tokenbus-testkit] ${line}\n`)
      }
    })
    for (const pid of pidsOf(kit)) seenPids.add(pid)
    client = await TokenbusClient.connect(kit)
  })
  beforeEach((ctx) => {
    ctx.onTestFailed(() => void process.stderr.write(`\n===== kit replica logs =====\n${kit?.logs()}\n`))
  })
  afterAll(async () => {
    await client?.close()
    await kit?.stop()
  })

  it("starts NATS, the upstream and two replicas on 127.0.0.1, says so, and a client's token gets a 200", async () => {
    const { client, kit } = the()
    expect(kit.nats.servers).toEqual([expect.stringMatching(/^nats:\/\/127\.0\.0\.1:\d+$/)])
    expect(kit.resourceUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//)
    expect(kit.replicas).toHaveLength(2)
    expect(await containersOf(kit)).toBe(kit.container.id.slice(0, 12))
    expect(progress.join("\n")).toMatch(/NATS ready at nats:\/\/127\.0\.0\.1:\d+, JetStream healthy/)
    expect(progress.join("\n")).toContain("replicas ready and a token minted")

    const before = kit.upstreamCounters()
    const response = await client.fetch(kit.provider, kit.resourceUrl)
    expect(response.status).toBe(200)
    expect(kit.upstreamCounters().resourceOk - before.resourceOk).toBe(1)
  })

  it("revoke() makes the resource refuse the token; the client's fetch recovers: one retry, one mint", async () => {
    const { client, kit } = the()
    const held = await client.getToken(kit.provider)
    const mints = kit.mintCount()
    kit.revoke()
    const authorization = `Bearer ${await client.accessToken(kit.provider)}`
    const refused = await fetch(kit.resourceUrl, { headers: { authorization } })
    expect(refused.status).toBe(401)

    const before = kit.upstreamCounters()
    const response = await client.fetch(kit.provider, kit.resourceUrl)
    expect(response.status).toBe(200)
    const after = kit.upstreamCounters()
    expect(after.resourceUnauthorized - before.resourceUnauthorized).toBe(1)
    expect(after.resourceOk - before.resourceOk).toBe(1)
    expect(kit.mintCount()).toBe(mints + 1)
    expect(client.peek(kit.provider)?.version).toBeGreaterThan(held.version)
  })

  it("failNext(503) fails the next token request: the leader retries it and the client still recovers", async () => {
    const { client, kit } = the()
    const before = kit.upstreamCounters()
    kit.failNext(503)
    kit.revoke()
    const response = await client.fetch(kit.provider, kit.resourceUrl)
    expect(response.status).toBe(200)
    const after = kit.upstreamCounters()
    expect(after.serverErrors - before.serverErrors).toBe(1)
    expect(after.tokenRequests - before.tokenRequests).toBe(2)
    expect(after.mints - before.mints).toBe(1)
    const failed = kit.logs().split("\n").filter((line) => line.includes('"msg":"upstream call failed"'))
    expect(failed.join("\n")).toContain("token endpoint answered 503")
  })

  it("setRateLimit restarts the replicas with the new limit: the token is kept, a 401 now waits for it", async () => {
    const { client, kit } = the()
    const oldPids = pidsOf(kit)
    const held = await client.getToken(kit.provider)
    const mints = kit.mintCount()

    // Every mint so far (at least the first) is in the window, so a limit of one leaves no room.
    await kit.setRateLimit({ tokens: 1, windowMillis: 60_000 })
    const newPids = pidsOf(kit)
    for (const pid of newPids) seenPids.add(pid)
    expect(newPids).toHaveLength(2)
    expect(newPids.filter((pid) => oldPids.includes(pid))).toEqual([])
    expect(oldPids.filter(alive)).toEqual([])
    expect(JSON.parse(readFileSync(configPathOf(newPids[0] ?? 0), "utf8")))
      .toMatchObject({ providers: [{ rateLimit: { tokens: 1, windowMillis: 60_000 } }] })
    expect(kit.mintCount()).toBe(mints)

    kit.revoke()
    const response = await client.fetch(kit.provider, kit.resourceUrl)
    // No newer token to retry with: the client hands the 401 back instead of earning another one.
    expect(response.status).toBe(401)
    expect(kit.mintCount()).toBe(mints)
    expect(client.peek(kit.provider)?.version).toBe(held.version)
    expect(kit.logs()).toContain('"msg":"mint waits for the rate budget"')
  })

  it("stop() leaves no container, no replica process and no temp files, and can be called again", async () => {
    const { client, kit } = the()
    const configDir = dirname(configPathOf(pidsOf(kit)[0] ?? 0))
    expect(existsSync(configDir)).toBe(true)
    await client.close()
    await kit.stop()
    await kit.stop()
    expect(await containersOf(kit)).toBe("")
    expect([...seenPids].filter(alive)).toEqual([])
    expect(existsSync(configDir)).toBe(false)
    await expect(fetch(kit.resourceUrl)).rejects.toThrow()
    expect(progress.at(-1)).toMatch(/^stopped \(replicas, upstream, NATS container, temp files\)/)
  })
})

describe("startTokenbus, one kit per block", () => {
  it("`await using` stops the kit at the end of the block", async () => {
    let started: { kit: TokenbusKit; pids: Array<number> } | undefined
    {
      await using kit = await startTokenbus({ replicas: 1, log: false })
      started = { kit, pids: pidsOf(kit) }
      const client = await TokenbusClient.connect(kit)
      expect((await client.fetch(kit.provider, kit.resourceUrl)).status).toBe(200)
      await client.close()
    }
    expect(await containersOf(started.kit)).toBe("")
    expect(started.pids.filter(alive)).toEqual([])
  })

  it("a missing image fails at once with a message that says how to get it, and starts nothing", async () => {
    const image = "tokenbus/nats-server:no-such-tag"
    const lines: Array<string> = []
    const failure = await startTokenbus({ image, pull: false, prefix: "tmissing01", log: (line) => lines.push(line) })
      .then(() => undefined, (error: unknown) => error)
    expect(failure).toBeInstanceOf(TestKitError)
    expect(failure).toMatchObject({ step: "image" })
    expect((failure as TestKitError).message).toContain(`The NATS image ${image} is not on this machine`)
    expect((failure as TestKitError).message).toContain(`docker pull ${image}`)
    expect(lines.join("\n")).toContain("start failed")
    const left = await run("docker", ["ps", "-a", "-q", "--filter", "label=org.tokenbus.testkit=tmissing01"])
    expect(left.stdout).toBe("")
  })
})
