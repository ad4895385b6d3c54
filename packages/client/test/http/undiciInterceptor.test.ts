// `undiciInterceptor` on an undici Agent against the simulated project44,
// through the cases every HTTP integration shares
// (support/IntegrationCases.ts), with undici's `request`; and undici's own
// `fetch` through the same dispatcher.
import { Readable } from "node:stream"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Agent, fetch as undiciFetch, request } from "undici"
import { undiciInterceptor } from "../../src/http/undiciInterceptor.ts"
import type { RetryPolicy } from "../../src/http/RetryPolicy.ts"
import { describeIntegration } from "./support/IntegrationCases.ts"
import { acquireUpstream, PROVIDER, revoke, type Upstream } from "./support/Upstream.ts"

const acquireDispatcher = (upstream: Upstream, policy: RetryPolicy) =>
  Effect.acquireRelease(
    Effect.sync(() => new Agent()),
    (agent) => Effect.promise(() => agent.close())
  ).pipe(Effect.map((agent) => agent.compose(undiciInterceptor(upstream.source, PROVIDER, policy))))

describeIntegration("undiciInterceptor with undici's request", (upstream, call, policy) =>
  Effect.gen(function*() {
    const dispatcher = yield* acquireDispatcher(upstream, policy)
    return yield* Effect.promise(async () => {
      const answer = await request(call.url, {
        dispatcher,
        method: call.method,
        headers: { ...call.headers },
        ...(call.body === undefined ? {} : { body: call.stream ? Readable.from([call.body]) : call.body })
      })
      return { status: answer.statusCode, body: await answer.body.text() }
    })
  }))

describe("undiciInterceptor with undici's fetch", () => {
  it.live("retries a GET once after a 401, with the new token", () =>
    Effect.gen(function*() {
      const upstream = yield* acquireUpstream()
      revoke(upstream, upstream.first)
      const dispatcher = yield* acquireDispatcher(upstream, {})
      const status = yield* Effect.promise(async () => {
        const response = await undiciFetch(upstream.sim.resourceUrl, { dispatcher })
        await response.text()
        return response.status
      })
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(upstream.reported(), [upstream.first.version])
      assert.strictEqual(upstream.resourceCalls(), 2)
    }))
})

describe("undiciInterceptor and aborts", () => {
  it.live("an abort while the 401 is being reported ends the request at once, with nothing sent again", () =>
    Effect.gen(function*() {
      // The report is never answered, so only the abort can end the request.
      const upstream = yield* acquireUpstream("none")
      revoke(upstream, upstream.first)
      const dispatcher = yield* acquireDispatcher(upstream, {})
      const abort = new AbortController()
      const outcome = yield* Effect.forkChild(Effect.promise(() =>
        request(upstream.sim.resourceUrl, { dispatcher, signal: abort.signal }).then(
          (answer) => `answered ${answer.statusCode}`,
          (error: Error) => error.name
        )
      ))
      while (upstream.reported().length === 0) yield* Effect.sleep(5)
      abort.abort()
      const ended = yield* Fiber.join(outcome).pipe(Effect.timeout(2_000))
      assert.strictEqual(ended, "AbortError")
      assert.strictEqual(upstream.resourceCalls(), 1)
    }))
})
