// tokenbus on a NATS that secures its clients, one method at a time: a
// nats-server of its own requiring user and password, a token, an NKey, a
// JWT `.creds` file (operator mode), TLS with a CA, or mutual TLS. For each,
// a replica process configured the way an operator would (secrets by
// `{env}`/`{file}`) mints and serves a token, a client with the same
// credentials gets it, and a wrong credential or certificate is refused
// with a typed error saying why. The CLI's `get` and `reset` reach the same
// servers through `--config` and `--creds`. No secret may appear in any
// message, log or output; a leak check names what leaked, never its value.
import { type ClientNatsOptions, TokenbusClient } from "@tokenbus/client"
import {
  logMsg,
  PROVIDER,
  randomPrefix,
  replicaConfig,
  type ReplicaProcess,
  SECRET_ENV,
  spawnReplica,
  startReplica,
  startUpstream,
  type Upstream
} from "@tokenbus/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ConfiguredNatsServer, startConfiguredNatsServer } from "./support/NatsServerConfig.ts"
import { credentialMethods, credsMethodName, type SecuredNats, tlsMethods } from "./support/SecuredNats.ts"
import { runCli } from "./support/runCli.ts"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

/** Fails naming each secret found in `text`, never printing it. */
const expectNoSecret = (what: string, text: string, secrets: Readonly<Record<string, string>>) => {
  const leaked = Object.entries(secrets).filter(([, value]) => text.includes(value)).map(([name]) => name)
  expect(leaked, `${what} contains secrets`).toEqual([])
}

/** The error a failed connect rejected with: its tag and message. */
const connectFailure = async (nats: ClientNatsOptions) => {
  const error: unknown = await TokenbusClient.connect({ nats }).then(
    async (client) => {
      await client.close()
      return undefined
    },
    (failure: unknown) => failure
  )
  expect(error, "the connection was accepted").toBeDefined()
  const { _tag, message } = error as { readonly _tag: string; readonly message: string }
  return { _tag, message }
}

interface Deployment {
  readonly method: SecuredNats
  readonly server: ConfiguredNatsServer
  readonly upstream: Upstream
  readonly prefix: string
  readonly replica: ReplicaProcess
  readonly env: Readonly<Record<string, string>>
  /** Every secret of the deployment, the upstream's included. */
  readonly secrets: Readonly<Record<string, string>>
}

/** A server requiring `method`, and one replica meeting it that has minted its first token. */
const deploy = async (make: () => Promise<SecuredNats>): Promise<Deployment> => {
  const method = await make()
  const server = await startConfiguredNatsServer(method.server)
  const upstream = await startUpstream()
  const prefix = randomPrefix()
  const env = { ...method.env, [SECRET_ENV]: upstream.clientSecret }
  const config = replicaConfig({ natsUrl: server.url, prefix, upstream, nats: method.replicaNats })
  const replica = await startReplica(config, { name: `${prefix}-replica`, env })
  await replica.waitForLog(logMsg("minted and committed a token", { provider: PROVIDER }), 20_000)
  const secrets = { ...method.secrets, "the upstream's client secret": upstream.clientSecret }
  return { method, server, upstream, prefix, replica, env, secrets }
}

const undeploy = async (deployment: Deployment | undefined) => {
  await deployment?.replica.stop("SIGTERM")
  await deployment?.upstream.sim.close()
  await deployment?.server.stop()
  await deployment?.method.remove()
}

const describeMethod = (name: string, make: () => Promise<SecuredNats>, asksForCredentials: boolean) =>
  describe(`NATS requiring ${name}`, () => {
    useReplicaCleanup()
    let deployment: Deployment | undefined
    const deployed = (): Deployment => {
      if (deployment === undefined) throw new Error("the deployment did not start")
      return deployment
    }
    beforeAll(async () => {
      deployment = await deploy(make)
    })
    afterAll(() => undeploy(deployment))

    it("a replica serves a token, and a client with the same credentials gets it", async () => {
      const { method, prefix, server, upstream } = deployed()
      const client = await TokenbusClient.connect({ prefix, nats: { servers: [server.url], ...method.client } })
      try {
        const token = await client.getToken(PROVIDER)
        const issued = upstream.sim.issuedTokens()
        // Compared, not printed: a failing test must not show the token.
        const got = await client.accessToken(PROVIDER)
        expect(issued.length === 1 && issued[0] === got, "the token is the one the upstream issued").toBe(true)
        expect(token.reason).toBe("initial")
      } finally {
        await client.close()
      }
    })

    it("a client with a wrong credential is refused with a typed error saying why, without the secret", async () => {
      const { method, secrets, server } = deployed()
      const failure = await connectFailure({ servers: [server.url], ...method.wrong })
      expect(failure._tag).toBe("ServiceUnavailable")
      expect(failure.message).toMatch(method.refusal)
      expectNoSecret("the refusal", failure.message, secrets)
    })

    it("tokenbus get and reset reach it with the replicas' configuration file", async () => {
      const { env, replica, secrets } = deployed()
      const got = await runCli(["get", PROVIDER, "--config", replica.configPath], env)
      expect(got.code, got.output).toBe(0)
      expect(JSON.parse(got.output)).toMatchObject({ provider: PROVIDER, accessToken: "<redacted: pass --reveal>" })
      const reset = await runCli(["reset", PROVIDER, "--config", replica.configPath], env)
      expect(reset.code, reset.output).toBe(0)
      expect(reset.output).toMatch(new RegExp(`${PROVIDER}: new token, version \\d+`))
      expectNoSecret("the CLI's output", got.output + reset.output, secrets)
    })

    if (asksForCredentials) {
      it("a client that gives no credential is told the server asks for one", async () => {
        const failure = await connectFailure({ servers: [deployed().server.url] })
        expect(failure.message).toMatch(
          /the server asks for credentials and none were given \(authorization violation\)/
        )
      })

      // A replica waits for a NATS it cannot reach; a credential refused twice in a row ends the wait (nats.js's rule).
      it("a replica with a wrong credential stops at start with one line saying why", async () => {
        const { method, prefix, server, upstream, secrets } = deployed()
        // The wrong secrets are plain strings: written into the file, which the service allows with a warning.
        const nats = { ...method.replicaNats, auth: method.wrong.auth }
        const config = replicaConfig({ natsUrl: server.url, prefix, upstream, nats })
        const env = { [SECRET_ENV]: upstream.clientSecret }
        const replica = await spawnReplica(config, { name: `${prefix}-wrong`, env })
        const exit = await replica.exited
        expect(exit.code, replica.dump()).toBe(1)
        expect(replica.stderr).toMatch(/^tokenbus: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: /m)
        expect(replica.stderr).toMatch(method.refusal)
        expectNoSecret("the replica's output", replica.output, secrets)
      })
    }

    if (name === credsMethodName) {
      it("tokenbus get reaches it with the .creds file alone, and names a refused one", async () => {
        const { method, prefix, secrets, server } = deployed()
        if (method.credsFiles === undefined) throw new Error(`${name} has no .creds files`)
        const flags = ["get", PROVIDER, "--servers", server.url, "--prefix", prefix, "--creds"]
        const got = await runCli([...flags, method.credsFiles.right])
        expect(got.code, got.output).toBe(0)
        expect(JSON.parse(got.output)).toMatchObject({ provider: PROVIDER })
        const refused = await runCli([...flags, method.credsFiles.wrong])
        expect(refused.code).toBe(1)
        expect(refused.output).toMatch(
          /^tokenbus: cannot connect to NATS at .*: the server refused the creds credential/m
        )
        expectNoSecret("the CLI's output", got.output + refused.output, secrets)
      })
    }

    it("leaks no secret, nor any token the upstream issued, into the replica's output", () => {
      const { replica, secrets, upstream } = deployed()
      const issued = upstream.sim.issuedTokens()
      const tokens = Object.fromEntries(issued.map((token, index) => [`issued token #${index + 1}`, token]))
      expect(replica.logs.length).toBeGreaterThan(0)
      expectNoSecret("the replica's output", replica.output, { ...secrets, ...tokens })
    })
  })

for (const [name, make] of credentialMethods) describeMethod(name, make, true)
for (const [name, make] of tlsMethods) describeMethod(name, make, false)
