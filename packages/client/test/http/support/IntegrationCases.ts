// What every HTTP integration must do, as cases each integration's test file
// runs with its own way of sending a call: the token attached; a 401
// reported with the failed token's version and the call sent once more with
// the new token; a second 401 handed back, not looped on; a POST not retried
// unless told (by the policy or an Idempotency-Key), a PUT retried with its
// body, a stream body never sent twice; and a report answered with the refused token handing the 401 back.
// The simulator's counters say how many calls reached the upstream.
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import type { RetryPolicy } from "../../../src/http/RetryPolicy.ts"
import { acquireUpstream, revoke, type Upstream } from "./Upstream.ts"

export interface Call {
  readonly method: "GET" | "POST" | "PUT"
  readonly url: string
  readonly body?: string
  readonly headers?: Readonly<Record<string, string>>
  /** Send `body` as a stream of the integration's kind, which can be read once. */
  readonly stream?: boolean
}

export interface Answer {
  readonly status: number
  readonly body: string
}

/** Sends `call` through the integration under test, built for `upstream` with `policy`; reads the whole answer. */
export type Send = (upstream: Upstream, call: Call, policy: RetryPolicy) => Effect.Effect<Answer, unknown, Scope.Scope>

const body = JSON.stringify({ shipment: "S-1" })
/** The simulated project44's answer to a refused token. */
const unauthorized = { httpStatusCode: 401, errorMessage: "Unauthorized" }
const json = { "content-type": "application/json" }

export const describeIntegration = (name: string, send: Send) =>
  describe(name, () => {
    const get = (upstream: Upstream, policy: RetryPolicy = {}) =>
      send(upstream, { method: "GET", url: upstream.sim.resourceUrl }, policy)
    const withBody = (upstream: Upstream, method: "POST" | "PUT", options: Partial<Call> = {}, policy = {}) =>
      send(upstream, { method, url: upstream.anyMethod.url, body, headers: json, ...options }, policy)

    it.live("attaches the provider's token", () =>
      Effect.gen(function*() {
        const upstream = yield* acquireUpstream()
        const answer = yield* get(upstream)
        assert.strictEqual(answer.status, 200)
        assert.deepStrictEqual(JSON.parse(answer.body), { ok: true })
        assert.strictEqual(upstream.resourceCalls(), 1)
        assert.deepStrictEqual(upstream.reported(), [])
      }))

    it.live("reports a 401 with the failed token's version and retries once with the new token", () =>
      Effect.gen(function*() {
        const upstream = yield* acquireUpstream()
        revoke(upstream, upstream.first)
        const answer = yield* get(upstream)
        assert.strictEqual(answer.status, 200)
        assert.deepStrictEqual(upstream.reported(), [upstream.first.version])
        assert.deepStrictEqual(upstream.sim.counters().resourceUnauthorized, 1)
        assert.strictEqual(upstream.resourceCalls(), 2)
      }))

    it.live("hands back a second 401 instead of looping", () =>
      Effect.gen(function*() {
        const upstream = yield* acquireUpstream()
        revoke(upstream, upstream.first, upstream.second)
        const answer = yield* get(upstream)
        assert.strictEqual(answer.status, 401)
        assert.deepStrictEqual(JSON.parse(answer.body), unauthorized)
        assert.deepStrictEqual(upstream.reported(), [upstream.first.version])
        assert.strictEqual(upstream.resourceCalls(), 2)
      }))

    it.live("reports a POST's 401 but hands it back, unless told the POST may be repeated", () =>
      Effect.gen(function*() {
        const upstream = yield* acquireUpstream()
        revoke(upstream, upstream.first)
        const answer = yield* withBody(upstream, "POST")
        assert.strictEqual(answer.status, 401)
        assert.deepStrictEqual(JSON.parse(answer.body), unauthorized)
        assert.deepStrictEqual(upstream.reported(), [upstream.first.version])
        assert.deepStrictEqual(upstream.anyMethod.calls(), [{ method: "POST", body }])
        assert.strictEqual(upstream.resourceCalls(), 1)
      }))

    it.live("retries a POST once, with its body, when told to (retryNonIdempotent)", () =>
      Effect.gen(function*() {
        const upstream = yield* acquireUpstream()
        revoke(upstream, upstream.first)
        const answer = yield* withBody(upstream, "POST", {}, { retryNonIdempotent: true })
        assert.strictEqual(answer.status, 200)
        assert.deepStrictEqual(upstream.anyMethod.calls(), [{ method: "POST", body }, { method: "POST", body }])
        assert.strictEqual(upstream.resourceCalls(), 2)
      }))

    it.live("retries a POST that carries an Idempotency-Key", () =>
      Effect.gen(function*() {
        const upstream = yield* acquireUpstream()
        revoke(upstream, upstream.first)
        const answer = yield* withBody(upstream, "POST", { headers: { ...json, "Idempotency-Key": "order-17" } })
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(upstream.anyMethod.calls().length, 2)
        assert.strictEqual(upstream.resourceCalls(), 2)
      }))

    it.live("retries a PUT, idempotent, with its body", () =>
      Effect.gen(function*() {
        const upstream = yield* acquireUpstream()
        revoke(upstream, upstream.first)
        const answer = yield* withBody(upstream, "PUT")
        assert.strictEqual(answer.status, 200)
        assert.deepStrictEqual(upstream.anyMethod.calls(), [{ method: "PUT", body }, { method: "PUT", body }])
      }))

    it.live("hands back the 401 of a request whose body is a stream, even when told it may be repeated", () =>
      Effect.gen(function*() {
        const upstream = yield* acquireUpstream()
        revoke(upstream, upstream.first)
        const answer = yield* withBody(upstream, "POST", { stream: true }, { retryNonIdempotent: true })
        assert.strictEqual(answer.status, 401)
        assert.deepStrictEqual(upstream.anyMethod.calls(), [{ method: "POST", body }])
        assert.deepStrictEqual(upstream.reported(), [upstream.first.version])
      }))

    it.live("hands back the 401 when the report answers with the refused token (a renewal that has to wait)", () =>
      Effect.gen(function*() {
        const upstream = yield* acquireUpstream("same")
        revoke(upstream, upstream.first)
        const answer = yield* get(upstream)
        assert.strictEqual(answer.status, 401)
        assert.deepStrictEqual(JSON.parse(answer.body), unauthorized)
        assert.deepStrictEqual(upstream.reported(), [upstream.first.version])
        assert.strictEqual(upstream.resourceCalls(), 1)
      }))
  })
