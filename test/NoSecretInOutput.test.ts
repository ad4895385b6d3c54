// No secret in any output (issue 12, item 7). Canary secrets (a client
// secret, a password, a refresh token, an access token, a NATS password, a
// storage and a signing key) and every token the upstreams issue are driven
// through real replica processes: start-up with secrets inline, from the
// environment, from files and in the NATS URL; mints of every kind against
// the simulators; every failure of an upstream that echoes what it was sent
// (401, 403, 429, 500, a 200 without a token, a page, a redirect, a hang);
// consumers' gets and 401 reports; bad input on every subject; the operator
// commands; configurations start-up refuses; shutdown. Every log line,
// stderr, reply, update and command output is scanned for every needle, in
// the forms they take on the wire; a leak is reported by where it is (the
// replica, the line, its masked message, or the request) and which secret,
// never by its text. Replica logs printed on failure are masked the same way.
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { logMsg, type ReplicaProcess, requestReply, startReplica, stopAllReplicas, waitUntil } from "@tokenbus/testing"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest"
import { type Canaries, leaksIn, makeCanaries, masked, replicaLeaks, withoutIssuedToken } from "./support/Canaries.ts"
import { type CanaryDeployment, startCanaryDeployment } from "./support/CanaryDeployment.ts"
import { runTokenbus } from "./support/RunTokenbus.ts"

describe("no secret in any output", () => {
  const canaries: Canaries = makeCanaries()
  let deployment: CanaryDeployment
  let replicas: Array<ReplicaProcess> = []
  let nats: NatsConnection
  /** Every reply and update seen, by the request or subject it answered. */
  const replies: Array<{ readonly path: string; readonly text: string }> = []
  /** What each command run wrote, by its command line. */
  const outputs: Array<{ readonly where: string; readonly text: string }> = []
  /** The forged updates this test publishes: what comes back as is is its own, not a replica's. */
  const published = new Set<string>()

  const needles = () => deployment.needles()
  const leaks = (): Array<string> => [
    ...replicas.flatMap((replica) => replicaLeaks(replica, needles())),
    ...replies.flatMap(({ path, text }) => leaksIn(`the reply to ${path}`, withoutIssuedToken(text), needles())),
    ...outputs.flatMap(({ text, where }) => leaksIn(where, text, needles()))
  ]
  const subject = (verb: "get" | "unauthorized" | "updates", provider: string) =>
    `${deployment.prefix}.token.${provider}.${verb}`
  /** A request on the wire; the reply (or why none came) kept for the scan. */
  const ask = async (path: string, subjectName: string, payload: string, timeout = 8_000) => {
    try {
      const reply = await requestReply(nats, subjectName, payload, timeout)
      replies.push({ path, text: JSON.stringify(reply) })
      return reply
    } catch (error) {
      replies.push({ path, text: (error as Error).message })
      return undefined
    }
  }
  const linesOf = (provider: string, msg: string) =>
    replicas.flatMap((replica) => replica.lines(logMsg(msg, { provider })))

  beforeAll(async () => {
    deployment = await startCanaryDeployment(inject("natsUrl"), canaries)
    replicas = await Promise.all(deployment.configs.map((config, index) =>
      startReplica(config, { name: `canary-${index + 1}`, env: deployment.env, logLevel: "All" })
    ))
    nats = await connect({ servers: inject("natsUrl"), name: `${deployment.prefix}-wire` })
    // Every update of every provider, for the scan.
    const updates = nats.subscribe(`${deployment.prefix}.token.*.updates`)
    void (async () => {
      for await (const message of updates) {
        const text = message.string()
        if (!published.has(text)) replies.push({ path: `an update on ${message.subject}`, text })
      }
    })()
  })

  beforeEach((ctx) => {
    ctx.onTestFailed(() => {
      const logs = replicas.map((replica) => replica.dump()).join("\n")
      process.stderr.write(`\n===== replica logs (secrets masked) =====\n${masked(logs, needles())}\n`)
    })
  })

  afterAll(async () => {
    await stopAllReplicas()
    await nats?.close()
    await deployment?.close()
  })

  it("starts with secrets inline, from the environment, from files, and NATS credentials in both places", async () => {
    await waitUntil(
      () => deployment.minting.every((id) => linesOf(id, "minted and committed a token").length > 0),
      60_000,
      "not every provider with a working upstream minted"
    )
    await waitUntil(
      () => deployment.failing.every((id) => linesOf(id, "upstream call failed").length > 0),
      60_000,
      "not every provider with a failing upstream tried it"
    )
    const warned = (line: { readonly msg: string }) => line.msg.includes("written in the config file")
    const inline = replicas.flatMap((replica) => replica.lines(warned))
    expect(inline.length).toBeGreaterThan(0)
    expect(leaks()).toEqual([])
  })

  it("answers gets and 401 reports for every provider, through every failure of its upstream", async () => {
    const { itemPath, p44 } = deployment.sims
    p44.failNext(1, 500)
    itemPath.revokeRefreshTokens()
    const ids = deployment.providers.map((provider) => String(provider["id"]))
    await Promise.all(ids.map(async (id) => {
      const got = await ask(`get ${id}`, subject("get", id), JSON.stringify({ v: 1 }))
      const version = got?.ok === true ? got.token.version : 1
      await ask(`a 401 report on ${id}`, subject("unauthorized", id), JSON.stringify({ v: 1, version }))
    }))
    // project44 rejects the secret from now on: the breaker trips, and an operator resets it below.
    p44.setCredentials({ clientId: "p44", clientSecret: `${canaries.clientSecret}-rotated` })
    const held = await ask("get p44-sim", subject("get", "p44-sim"), JSON.stringify({ v: 1 }))
    const version = held?.ok === true ? held.token.version : 1
    const report = JSON.stringify({ v: 1, version })
    const refused = await ask("a 401 report on p44-sim", subject("unauthorized", "p44-sim"), report)
    expect(refused?.ok === false ? refused.error._tag : "a token").toBe("CredentialsRejected")
    expect(linesOf("itempath-sim", "minted and committed a token").length).toBeGreaterThan(1)
    expect(leaks()).toEqual([])
  })

  it("refuses bad input on every subject without repeating it", async () => {
    const { payload } = canaries
    const payloads: ReadonlyArray<readonly [string, string]> = [
      ["text that is not JSON", `not json ${payload}`],
      ["a version that is not a number", JSON.stringify({ v: payload })],
      ["a report version that is not a number", JSON.stringify({ v: 1, version: payload })],
      ["an unknown reason", JSON.stringify({ v: 1, reason: payload })],
      ["a failed version that is not a number", JSON.stringify({ v: 1, reason: "operator", failedVersion: payload })],
      ["an unsupported protocol version", JSON.stringify({ v: 2, accessToken: payload })],
      ["secrets in unknown fields", JSON.stringify({ v: 1, version: 1, accessToken: payload, password: payload })],
      ["a forged version", JSON.stringify({ v: 1, version: Number.MAX_SAFE_INTEGER, note: payload })],
      ["a huge string", JSON.stringify({ v: payload.repeat(5_000) })],
      ["deep nesting", `${"[".repeat(5_000)}"${payload}"${"]".repeat(5_000)}`]
    ]
    const subjects: ReadonlyArray<readonly [string, string]> = [
      ["get", subject("get", "p44-sim")],
      ["unauthorized", subject("unauthorized", "p44-sim")],
      ["the leader's mint", `${deployment.prefix}.leader.cc-basic-ok.mint`],
      ["get of an unknown provider", subject("get", "no-such-provider")]
    ]
    for (const [where, name] of subjects) {
      await Promise.all(payloads.map(([what, text]) => ask(`${what} on ${where}`, name, text, 4_000)))
    }
    const forged = {
      provider: "cc-basic-ok",
      version: Number.MAX_SAFE_INTEGER,
      accessToken: "forged",
      tokenType: "Bearer",
      issuedAt: 0,
      reason: "initial"
    }
    for (const update of [
      `not json ${payload}`,
      JSON.stringify({ v: 1, token: forged, signature: payload }),
      JSON.stringify({ v: 1, token: { ...forged, provider: payload } })
    ]) {
      published.add(update)
      nats.publish(subject("updates", "cc-basic-ok"), update)
    }
    await nats.flush()
    const after = await ask("get after forged updates", subject("get", "cc-basic-ok"), JSON.stringify({ v: 1 }))
    expect(after?.ok === true ? after.token.accessToken : "no token").not.toBe("forged")
    expect(replicas.every((replica) => replica.running)).toBe(true)
    expect(leaks()).toEqual([])
  })

  it("shows no secret in the operator commands' output", async () => {
    const config = ["--config", replicas[0]!.configPath]
    const run = async (args: ReadonlyArray<string>) => {
      const result = await runTokenbus([...args, ...config], deployment.env)
      outputs.push({ where: `tokenbus ${args.join(" ")}`, text: `${result.stdout}\n${result.stderr}` })
      return result
    }
    // What the commands printed is checked masked, so a failure prints no secret either.
    const got = await run(["get", "static-file"])
    expect(masked(got.stdout, needles())).toContain("<redacted: pass --reveal>")
    const refused = await run(["reset", "cc-basic-401-echo"])
    expect(masked(refused.stderr, needles())).toContain("tokenbus reset: credentials rejected")
    deployment.sims.p44.setCredentials({ clientId: "p44", clientSecret: canaries.clientSecret })
    const reset = await run(["reset", "p44-sim"])
    expect(masked(reset.stdout, needles())).toContain("p44-sim: new token")
    expect(leaks()).toEqual([])
  })

  it("refuses bad configurations in one line on stderr, quoting no secret", async () => {
    const [good] = deployment.configs
    const providers = good["providers"] as ReadonlyArray<Record<string, unknown>>
    const withProvider = (index: number, fields: Record<string, unknown>) => {
      const changed = providers.map((entry, at) => (at === index ? { ...entry, ...fields } : entry))
      return JSON.stringify({ ...good, providers: changed })
    }
    const twoCredentials = { user: "u", password: canaries.natsPassword, token: canaries.natsPassword }
    const natsUrl = inject("natsUrl")
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["a bad field beside an inline secret", withProvider(0, { clientAuth: "bogus" })],
      ["the password where the variable's name goes", withProvider(1, { password: { env: canaries.password } })],
      ["a secret file that is a directory", withProvider(2, { clientSecret: { file: deployment.dir } })],
      ["the refresh token where its path goes", withProvider(2, { refreshToken: { file: canaries.refreshToken } })],
      ["a file that is not JSON", withProvider(0, {}).replace(`"${canaries.clientSecret}"`, canaries.clientSecret)],
      ["two NATS credentials", JSON.stringify({ ...good, nats: { servers: [natsUrl], auth: twoCredentials } })],
      ["a signing key that is not one", JSON.stringify({ ...good, signing: { privateKey: canaries.clientSecret } })]
    ]
    // Two at a time: each is a whole process starting on a shared machine.
    for (let start = 0; start < cases.length; start += 2) {
      await Promise.all(cases.slice(start, start + 2).map(async ([what, text], offset) => {
        const path = join(deployment.dir, `bad-${start + offset}.json`)
        writeFileSync(path, text)
        const result = await runTokenbus(["serve", "--config", path], deployment.env, 60_000)
        outputs.push({ where: `tokenbus serve with ${what}`, text: `${result.stdout}\n${result.stderr}` })
        const said = masked(result.stderr, needles()).split("\n")[0]
        expect({ what, code: result.code, said }).toEqual({ what, code: 1, said: expect.stringMatching(/^tokenbus: /) })
      }))
    }
    expect(leaks()).toEqual([])
  })

  it("shuts down on SIGTERM, and nothing it wrote from start to end holds a secret", async () => {
    const exits = await Promise.all(replicas.map((replica) => replica.stop("SIGTERM")))
    expect(exits.map((exit) => exit.code)).toEqual(replicas.map(() => 0))
    expect(replicas.every((replica) => replica.logs.length > 0)).toBe(true)
    expect(leaks()).toEqual([])
  })
})
