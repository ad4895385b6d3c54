// An ItemPath provider in application-token mode whose upstream issues an
// application token but answers without it, run through the real minting core
// on the in-memory NATS: a provider parsed from a config file as `tokenbus
// serve` parses it, calling the simulated ItemPath over loopback with the
// replica's fetch client. Each such answer leaves a credential that never
// expires, so after the first one nothing may call the upstream again (no
// consumer's get, no new leader) until an operator resets the provider.
import { assert, describe, it } from "@effect/vitest"
import { acquireItemPathSim, type ItemPathSim } from "@tokenbus/sim"
import { ConfigProvider, Effect, Redacted } from "effect"
import { parseServiceConfig } from "../../src/config/ServiceConfig.ts"
import {
  getToken,
  lease,
  lockHolder,
  makeMemoryNats,
  type MemoryReplica,
  PROVIDER,
  prefix,
  request,
  startReplica,
  subjects,
  tokenOf
} from "../support/MemoryCluster.ts"

const username = "wms-robot"
const password = "pa55-W0rd!&x"
const env = ConfigProvider.fromEnv({ env: { ITEMPATH_PASSWORD: password } })

const configText = (baseUrl: string) =>
  JSON.stringify({
    nats: { servers: ["memory"] },
    prefix,
    lease,
    requestTimeoutMillis: 2_000,
    // Application tokens: no carry, so no key is needed.
    storage: { accessTokensInClear: true },
    providers: [{
      id: PROVIDER,
      kind: "itempath",
      baseUrl,
      username,
      password: { env: "ITEMPATH_PASSWORD" },
      applicationToken: true,
      timeoutMillis: 2_000
    }]
  })

/** What the upstream was asked for: logins (each a refresh token) and application tokens (each forever). */
const issued = (upstream: ItemPathSim) => {
  const { applicationTokens, logins, userRequests } = upstream.counters()
  return { userRequests, logins, applicationTokens }
}

/** Polls `check` on the real clock until it holds, failing after `millis`. */
const eventually = <A>(what: string, effect: Effect.Effect<A, unknown>, check: (a: A) => boolean, millis = 5_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + millis
    while (true) {
      const value = yield* effect
      if (check(value)) return value
      if (Date.now() > deadline) return assert.fail(`${what}: still ${JSON.stringify(value)} after ${millis} ms`)
      yield* Effect.sleep(20)
    }
  })

type Reply = Effect.Success<ReturnType<typeof getToken>>
const errorTag = (reply: Reply) => reply.ok ? "a token" : reply.error._tag
const errorMessage = (reply: Reply) => reply.ok ? "a token" : reply.error.message

describe("ItemPath application tokens through the minting core", () => {
  it.live("one unusable answer trips the breaker: no new leader nor later get calls ItemPath until a reset", () =>
    Effect.gen(function*() {
      const upstream = yield* acquireItemPathSim({ username, password })
      upstream.setTokenlessAnswers(["application-token"])
      const config = yield* parseServiceConfig(configText(upstream.baseUrl), "itempath.json")
      const nats = yield* makeMemoryNats
      const replicas: Array<MemoryReplica> = []
      for (const id of ["replica-1", "replica-2", "replica-3"]) replicas.push(yield* startReplica(nats, config, id))
      const consumer = yield* nats.connection("consumer")

      // The first leader's initial mint: one login, one application token, withheld.
      yield* eventually("the first mint", Effect.sync(() => issued(upstream)), (seen) => seen.applicationTokens === 1)
      const first = yield* getToken(consumer)
      assert.strictEqual(errorTag(first), "CredentialsRejected")
      assert.include(errorMessage(first), "ItemPath application-token answered 200 without a usable token")
      for (let get = 0; get < 5; get++) assert.strictEqual(errorTag(yield* getToken(consumer)), "CredentialsRejected")

      // Two leaders in turn stop, as on SIGTERM; each successor reads the breaker from KV.
      for (let handover = 0; handover < 2; handover++) {
        const leaderId = yield* eventually("a leader", lockHolder(consumer), (holder) => holder !== undefined)
        const leader = replicas.find((replica) => replica.id === leaderId)!
        yield* leader.stop
        replicas.splice(replicas.indexOf(leader), 1)
        yield* eventually(
          "a new leader",
          lockHolder(consumer),
          (holder) => holder !== undefined && holder !== leaderId
        )
        assert.strictEqual(errorTag(yield* getToken(consumer)), "CredentialsRejected")
      }
      yield* Effect.sleep(200)
      assert.deepStrictEqual(issued(upstream), { userRequests: 2, logins: 1, applicationTokens: 1 })

      // The operator fixes the upstream and resets: exactly one more of each, and the token is served.
      upstream.setTokenlessAnswers([])
      const reset = yield* request(consumer, subjects.mint(PROVIDER), { reason: "operator" })
      assert.isTrue(reset.ok, JSON.stringify(reset))
      assert.deepStrictEqual(issued(upstream), { userRequests: 4, logins: 2, applicationTokens: 2 })
      const served = yield* getToken(consumer)
      if (!served.ok) return assert.fail(`expected a token, got ${errorMessage(served)}`)
      assert.strictEqual(Redacted.value(tokenOf(served).accessToken), upstream.issuedApplicationTokens()[1])
    }).pipe(Effect.provideService(ConfigProvider.ConfigProvider, env)))
})
