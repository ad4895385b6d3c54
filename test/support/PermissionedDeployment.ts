// A tokenbus deployment on the permissions of docs/permissions.md: a
// nats-server of its own running the page's configuration block with random
// passwords, the simulated project44 behind two providers (`project44`, the
// one the `tracking` consumer is allowed, and `billing`), and replica
// processes logged in as the replica user with its inbox prefix. The first
// replica starts alone with a longer lease and stops once it has minted for
// both providers; the cluster then changes the leases bucket's TTL, so the
// replicas create a bucket and change one, as well as elect, mint and serve.
import {
  expectToken,
  type LeaderInfo,
  type LeaseSettings,
  logMsg,
  parseReply,
  replicaConfig,
  type ReplicaProcess,
  SECRET_ENV,
  settledLeader,
  startReplica,
  startReplicas,
  startUpstream,
  type Upstream,
  waitUntil,
  type WireToken
} from "@tokenbus/testing"
import { type PermissionedNatsServer, startPermissionedNatsServer } from "./PermissionedNatsServer.ts"
import { connectAs, randomPasswords, type RoleConnection, type RoleUser, roles } from "./PermissionRoles.ts"
import { environmentVariables, type PermissionsDoc } from "./PermissionsDoc.ts"
import { testLease } from "./ServiceFixture.ts"

/** The page's prefix: the server is the deployment's alone, so nothing else shares its subjects. */
export const prefix = "tokenbus"
export const allowed = "project44"
export const other = "billing"

export const subject = {
  get: (provider: string) => `${prefix}.token.${provider}.get`,
  unauthorized: (provider: string) => `${prefix}.token.${provider}.unauthorized`,
  updates: (provider: string) => `${prefix}.token.${provider}.updates`,
  mint: (provider: string) => `${prefix}.leader.${provider}.mint`
}

export const buckets = [`${prefix}-leases`, `${prefix}-tokens`] as const

export interface PermissionedDeployment {
  readonly server: PermissionedNatsServer
  readonly upstream: Upstream
  /** Every replica started, the first (stopped) one included. */
  readonly replicas: ReadonlyArray<ReplicaProcess>
  readonly password: (user: RoleUser) => string
  /** A raw connection as `user`, closed by `stop`. */
  readonly as: (user: RoleUser, name: string) => Promise<RoleConnection>
  /** TokenbusClient options logging in as `user`. */
  readonly clientOptions: (user: RoleUser, name: string) => {
    readonly prefix: string
    readonly nats: {
      readonly servers: ReadonlyArray<string>
      readonly name: string
      readonly auth: { readonly user: string; readonly password: string }
      readonly inboxPrefix: string
    }
  }
  /** The `operator` mint request `tokenbus reset` sends, as the operator user; the new token. */
  readonly reset: (provider: string) => Promise<WireToken>
  /** The provider's leader with a lease revision above `afterRevision`, waiting for one. */
  readonly leader: (provider: string, afterRevision?: number) => Promise<LeaderInfo>
  readonly stop: () => Promise<void>
}

/** Room for every mint of a test file, and no breaker between two quick 401 reports. */
const policy = { rateLimit: { tokens: 60, windowMillis: 60_000, burst: 20 }, circuitBreaker: { freshTokenMillis: 0 } }

const clusterConfig = (url: string, upstream: Upstream, lease: LeaseSettings): Record<string, unknown> => {
  const config = replicaConfig({
    natsUrl: url,
    prefix,
    upstream,
    lease,
    provider: policy,
    nats: {
      auth: { user: roles.replica.user, password: { env: roles.replica.passwordVariable } },
      inboxPrefix: roles.replica.inboxPrefix
    }
  })
  const [first] = config["providers"] as Array<Record<string, unknown>>
  return { ...config, providers: [first, { ...first, id: other }] }
}

export const startPermissionedDeployment = async (doc: PermissionsDoc): Promise<PermissionedDeployment> => {
  const passwords = randomPasswords(environmentVariables(doc.config))
  const password = (user: RoleUser): string => passwords[user.passwordVariable] ?? ""
  const server = await startPermissionedNatsServer({ config: doc.config, env: passwords, jetstream: true })
  const upstream = await startUpstream({ tokensPerMinute: 600, burst: 100 })
  const connections: Array<RoleConnection> = []
  const replicas: Array<ReplicaProcess> = []
  const stop = async () => {
    await Promise.all(connections.map(({ nc }) => nc.close().catch(() => undefined)))
    await Promise.all(replicas.map((replica) => replica.stop("SIGKILL")))
    await upstream.sim.close()
    await server.stop()
  }
  const as = async (user: RoleUser, name: string) => {
    const connection = await connectAs(server.url, user, passwords, name)
    connections.push(connection)
    return connection
  }
  try {
    const env = { [SECRET_ENV]: upstream.clientSecret, [roles.replica.passwordVariable]: password(roles.replica) }
    const longer = { ...testLease, ttlMillis: testLease.ttlMillis + 1000 }
    const first = await startReplica(clusterConfig(server.url, upstream, longer), { name: "replica-0", env })
    replicas.push(first)
    for (const provider of [allowed, other]) {
      await first.waitForLog(logMsg("minted and committed a token", { provider }), 20_000)
    }
    await first.stop("SIGTERM")
    const config = clusterConfig(server.url, upstream, testLease)
    replicas.push(...(await startReplicas(3, config, { env, namePrefix: "replica" })))
    const operator = await as(roles.operator, "operator-requests")
    return {
      server,
      upstream,
      replicas,
      password,
      as,
      clientOptions: (user, name) => ({
        prefix,
        nats: {
          servers: [server.url],
          name,
          auth: { user: user.user, password: password(user) },
          inboxPrefix: user.inboxPrefix
        }
      }),
      reset: async (provider) => {
        const request = `{"v":1,"reason":"operator"}`
        // While a provider is handed from one replica to another nobody serves its mint subject for a moment:
        // asked again, as `tokenbus reset` does (cli/OperatorRequest.ts).
        for (let attempt = 0; ; attempt++) {
          try {
            const reply = await operator.nc.request(subject.mint(provider), request, { timeout: 10_000 })
            return expectToken(parseReply(reply.string()))
          } catch (error) {
            if (attempt >= 40 || !/no responders/i.test(String(error))) throw error
            await new Promise((resolve) => setTimeout(resolve, 250))
          }
        }
      },
      leader: async (provider, afterRevision = 0) => {
        // Settled: the leader every running replica agrees on, not one a joining replica is about to replace.
        let leader: LeaderInfo | undefined
        const above = () => (leader = settledLeader(replicas, provider)) !== undefined && leader.revision > afterRevision
        await waitUntil(above, 20_000, `no settled leader of ${provider} above lease revision ${afterRevision}`)
        return leader!
      },
      stop
    }
  } catch (error) {
    await stop()
    throw error
  }
}
