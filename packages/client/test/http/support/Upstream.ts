// The world the HTTP integrations' tests run in: the simulated project44
// (real HTTP on 127.0.0.1; it counts calls to its protected resource and can
// revoke a token so the resource answers 401), two tokens minted there, a
// fake replica on the in-memory NATS that serves the first on `get` and
// answers a 401 report as the test says (with the second token, or with the
// very token reported, as when the upstream's rate budget makes the next one
// wait), and a `TokenClient` on that NATS.
import { protocolVersion, Token, TokenReplyJson, UnauthorizedReportJson } from "@tokenbus/core"
import { makeMemoryNats } from "@tokenbus/nats/testing"
import { acquireProject44Sim, type Project44Sim } from "@tokenbus/sim"
import { Effect, Redacted, Schema } from "effect"
import type { TokenSource } from "../../../src/http/TokenSource.ts"
import type { TokenClient } from "../../../src/TokenClient.ts"
import { clientOn, PROVIDER, serveScripted } from "../../support/FakeReplica.ts"
import { acquireAnyMethodResource, type AnyMethodResource } from "./AnyMethodResource.ts"

export { PROVIDER }

/** How the fake replica answers a 401 report: with the second token, with the one reported, or not at all. */
export type ReportAnswer = "newer" | "same" | "none"

export interface Upstream {
  readonly sim: Project44Sim
  /** What `get` serves (version 1) and what a report answered "newer" returns (version 2). */
  readonly first: Token
  readonly second: Token
  readonly client: TokenClient["Service"]
  /** The client as the Promise integrations take it. */
  readonly source: TokenSource
  /** The simulator's resource behind a server that takes any method: for requests with a body. */
  readonly anyMethod: AnyMethodResource
  /** The versions the replica received 401 reports of, in order. */
  readonly reported: () => ReadonlyArray<number>
  /** How many calls reached the simulator's protected resource. */
  readonly resourceCalls: () => number
}

const clientId = "http-tests"
const clientSecret = "http-tests-secret"

const encodeReply = Schema.encodeSync(TokenReplyJson)
const decodeReport = Schema.decodeUnknownSync(UnauthorizedReportJson)

const mint = (sim: Project44Sim) =>
  Effect.promise(async () => {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret
    })
    const response = await fetch(sim.tokenUrl, { method: "POST", body: form })
    return ((await response.json()) as { readonly access_token: string }).access_token
  })

const tokenOf = (version: number, accessToken: string): Token =>
  new Token({
    provider: PROVIDER,
    version,
    accessToken: Redacted.make(accessToken),
    tokenType: "BEARER",
    issuedAt: Date.now(),
    reason: version === 1 ? "initial" : "unauthorized-report"
  })

/** Everything above, released with the test's scope. */
export const acquireUpstream = (answer: ReportAnswer = "newer") =>
  Effect.gen(function*() {
    const sim = yield* Effect.orDie(acquireProject44Sim({ clientId, clientSecret }))
    const first = tokenOf(1, yield* mint(sim))
    const second = tokenOf(2, yield* mint(sim))
    const nats = yield* makeMemoryNats
    const replica = yield* nats.connection("replica")
    yield* serveScripted(replica, "get", () => encodeReply({ v: protocolVersion, ok: true, token: first }))
    const reported: Array<number> = []
    yield* serveScripted(replica, "unauthorized", (_, message) => {
      const { version } = decodeReport(message.string())
      reported.push(version)
      if (answer === "none") return undefined
      return encodeReply(
        answer === "newer"
          ? { v: protocolVersion, ok: true, token: second }
          : { v: protocolVersion, ok: true, token: first, renewalExpectedAt: Date.now() + 12_000 }
      )
    })
    const { client } = yield* clientOn(nats, "client")
    const source: TokenSource = {
      getToken: (provider) => Effect.runPromise(client.getToken(provider)),
      reportUnauthorized: (token) => Effect.runPromise(client.reportUnauthorized(token)),
      peek: client.peek
    }
    const anyMethod = yield* acquireAnyMethodResource(sim.resourceUrl)
    const resourceCalls = () => sim.counters().resourceOk + sim.counters().resourceUnauthorized
    return { sim, first, second, client, source, anyMethod, reported: () => [...reported], resourceCalls }
  })

/** Makes the simulator refuse `tokens`, as the upstream refuses a revoked or expired token. */
export const revoke = (upstream: Upstream, ...tokens: ReadonlyArray<Token>): void => {
  for (const token of tokens) upstream.sim.revoke(Redacted.value(token.accessToken))
}
