// `axiosInterceptors` on an axios instance against the simulated project44,
// through the cases every HTTP integration shares
// (support/IntegrationCases.ts); and what is axios's own: a request's
// `config.tokenbus`, a 401 let through by `validateStatus`, and removing the
// interceptors.
import { Readable } from "node:stream"
import { assert, describe, it } from "@effect/vitest"
import axios from "axios"
import { Effect } from "effect"
import { axiosInterceptors } from "../../src/http/axiosInterceptors.ts"
import { describeIntegration } from "./support/IntegrationCases.ts"
import { acquireUpstream, PROVIDER, revoke } from "./support/Upstream.ts"

/** An instance that rejects no status, as the cases read every answer. */
const answerAll = { validateStatus: () => true, responseType: "text" as const }

describeIntegration("axiosInterceptors", (upstream, call, policy) =>
  Effect.promise(async () => {
    const instance = axios.create()
    axiosInterceptors(instance, upstream.source, PROVIDER, policy)
    const { body, headers, method, stream, url } = call
    const config = { method, url, headers: { ...headers }, responseType: "text" as const }
    const data = body === undefined ? {} : { data: stream === true ? Readable.from([body]) : body }
    const answer = await instance.request({ ...config, ...data }).catch(
      (error: unknown) => {
        if (axios.isAxiosError(error) && error.response !== undefined) return error.response
        throw error
      }
    )
    return { status: answer.status, body: String(answer.data) }
  }))

describe("axiosInterceptors, the axios part", () => {
  it.live("rejects a second 401 with axios's own error", () =>
    Effect.gen(function*() {
      const upstream = yield* acquireUpstream()
      revoke(upstream, upstream.first, upstream.second)
      const instance = axios.create()
      axiosInterceptors(instance, upstream.source, PROVIDER)
      const error = yield* Effect.promise(() => instance.get(upstream.sim.resourceUrl).then(() => undefined, (e) => e))
      assert.isTrue(axios.isAxiosError(error))
      assert.strictEqual(axios.isAxiosError(error) ? error.response?.status : undefined, 401)
      assert.strictEqual(upstream.resourceCalls(), 2)
    }))

  it.live("retries a 401 that validateStatus let through, once", () =>
    Effect.gen(function*() {
      const upstream = yield* acquireUpstream()
      revoke(upstream, upstream.first)
      const instance = axios.create(answerAll)
      axiosInterceptors(instance, upstream.source, PROVIDER)
      const answer = yield* Effect.promise(() => instance.get(upstream.sim.resourceUrl))
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(upstream.resourceCalls(), 2)
    }))

  it.live("retries a POST whose own config says it may be repeated", () =>
    Effect.gen(function*() {
      const upstream = yield* acquireUpstream()
      revoke(upstream, upstream.first)
      const instance = axios.create(answerAll)
      axiosInterceptors(instance, upstream.source, PROVIDER)
      const answer = yield* Effect.promise(() =>
        instance.post(upstream.anyMethod.url, { n: 1 }, { tokenbus: { retryNonIdempotent: true } })
      )
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(upstream.anyMethod.calls().map((call) => call.body), ["{\"n\":1}", "{\"n\":1}"])
    }))

  it.live("once removed, sends no token", () =>
    Effect.gen(function*() {
      const upstream = yield* acquireUpstream()
      const instance = axios.create(answerAll)
      const remove = axiosInterceptors(instance, upstream.source, PROVIDER)
      remove()
      const answer = yield* Effect.promise(() => instance.get(upstream.sim.resourceUrl))
      assert.strictEqual(answer.status, 401)
      assert.deepStrictEqual(upstream.reported(), [])
    }))
})
