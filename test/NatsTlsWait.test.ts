// A replica whose TLS the server refuses does not wait forever without a
// word. Against a nats-server of its own requiring TLS (a certificate from
// the test's CA, TestCertificates.ts), a replica that does not trust that CA
// (the system's CAs only) says why it cannot connect yet (a warning naming
// the server and the TLS problem) and, refused again, stops at start with
// one line saying what to check, as a refused credential does; the same
// replica given the CA connects and mints.
import {
  logMsg,
  PROVIDER,
  randomPrefix,
  replicaConfig,
  SECRET_ENV,
  spawnReplica,
  startUpstream
} from "@tokenbus/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ConfiguredNatsServer, startConfiguredNatsServer } from "./support/NatsServerConfig.ts"
import { type SecuredNats, tlsWithCa } from "./support/SecuredNats.ts"
import { useReplicaCleanup } from "./support/useReplicaCleanup.ts"

useReplicaCleanup()

let method: SecuredNats
let server: ConfiguredNatsServer
beforeAll(async () => {
  method = await tlsWithCa()
  server = await startConfiguredNatsServer(method.server)
})
afterAll(async () => {
  await server?.stop()
  await method?.remove()
})

describe("a replica waiting for a NATS that requires TLS", () => {
  it("that does not trust the server's CA warns why, then stops at start with one line saying so", async () => {
    const upstream = await startUpstream()
    try {
      const prefix = randomPrefix()
      const config = replicaConfig({ natsUrl: server.url, prefix, upstream, nats: { tls: {} } })
      const env = { [SECRET_ENV]: upstream.clientSecret }
      const replica = await spawnReplica(config, { name: `${prefix}-untrusting`, env })
      const exit = await replica.exited
      expect(exit.code, replica.dump()).toBe(1)
      const warnings = replica.logs.filter(logMsg("cannot connect to NATS yet; still trying"))
      expect(warnings).toMatchObject([{ level: 40, servers: server.url, error: expect.stringMatching(/TLS failed/) }])
      expect(replica.stderr).toContain(`tokenbus: cannot connect to NATS at ${server.url}: TLS failed (`)
      expect(replica.stderr).toMatch(/TLS failed \(.*certificate.*\): check nats\.tls/)
    } finally {
      await upstream.sim.close()
    }
  })

  it("that is given the CA connects and mints", async () => {
    const upstream = await startUpstream()
    const prefix = randomPrefix()
    const config = replicaConfig({ natsUrl: server.url, prefix, upstream, nats: method.replicaNats })
    const env = { [SECRET_ENV]: upstream.clientSecret }
    const replica = await spawnReplica(config, { name: `${prefix}-trusting`, env })
    try {
      await replica.waitForLog(logMsg("minted and committed a token", { provider: PROVIDER }), 20_000)
      expect(replica.logs.filter(logMsg("cannot connect to NATS yet; still trying"))).toEqual([])
    } finally {
      await replica.stop("SIGTERM")
      await upstream.sim.close()
    }
  })
})
