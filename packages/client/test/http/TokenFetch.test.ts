// `TokenClient.fetch` against the simulated project44, through the cases
// every HTTP integration shares (support/IntegrationCases.ts); and what is
// fetch's own: the caller's signal.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { describeIntegration } from "./support/IntegrationCases.ts"
import { acquireUpstream, PROVIDER } from "./support/Upstream.ts"

describeIntegration("TokenClient.fetch", (upstream, call, policy) =>
  Effect.gen(function*() {
    const body = call.body === undefined ? {} : { body: call.stream ? new Blob([call.body]).stream() : call.body }
    const init = { method: call.method, headers: { ...call.headers }, duplex: "half" as const, ...policy, ...body }
    const response = yield* upstream.client.fetch(PROVIDER, call.url, init)
    return { status: response.status, body: yield* Effect.promise(() => response.text()) }
  }))

describe("TokenClient.fetch, the fetch part", () => {
  it.live("honours the caller's signal", () =>
    Effect.gen(function*() {
      const upstream = yield* acquireUpstream()
      const error = yield* Effect.flip(
        upstream.client.fetch(PROVIDER, upstream.sim.resourceUrl, { signal: AbortSignal.abort() })
      )
      assert.strictEqual(error._tag, "FetchFailed")
      assert.strictEqual(upstream.resourceCalls(), 0)
    }))
})
