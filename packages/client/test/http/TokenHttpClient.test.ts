// `TokenHttpClient.layer` (Effect's HttpClient, on FetchHttpClient) against
// the simulated project44, through the cases every HTTP integration shares
// (support/IntegrationCases.ts); and a token that cannot be had failing as
// the HttpClientError the service promises.
import { assert, describe, it } from "@effect/vitest"
import { makeMemoryNats } from "@tokenbus/nats/testing"
import { Effect, Layer, Stream } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import type { RetryPolicy } from "../../src/http/RetryPolicy.ts"
import * as TokenHttpClient from "../../src/http/TokenHttpClient.ts"
import { TokenClient } from "../../src/TokenClient.ts"
import { clientOn } from "../support/FakeReplica.ts"
import { describeIntegration } from "./support/IntegrationCases.ts"
import { PROVIDER } from "./support/Upstream.ts"

const layerFor = (tokens: TokenClient["Service"], policy: RetryPolicy = {}) =>
  TokenHttpClient.layer(PROVIDER, policy).pipe(
    Layer.provide([FetchHttpClient.layer, Layer.succeed(TokenClient, tokens)])
  )

describeIntegration("TokenHttpClient.layer", (upstream, call, policy) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const base = HttpClientRequest.make(call.method)(call.url, { headers: { ...call.headers } })
    const request = call.body === undefined
      ? base
      : call.stream
      ? HttpClientRequest.bodyStream(base, Stream.make(new TextEncoder().encode(call.body)), {
        contentType: "application/json"
      })
      : HttpClientRequest.bodyText(base, call.body, "application/json")
    const response = yield* client.execute(request)
    return { status: response.status, body: yield* response.text }
  }).pipe(Effect.provide(layerFor(upstream.client, policy))))

describe("TokenHttpClient.layer without a token", () => {
  it.live("fails with an HttpClientError whose cause is the client's ServiceUnavailable", () =>
    Effect.gen(function*() {
      // No replica at all: the request for a token finds no responders.
      const { client: tokens } = yield* clientOn(yield* makeMemoryNats, "client")
      const error = yield* HttpClient.get("http://127.0.0.1:9/never-called").pipe(
        Effect.provide(layerFor(tokens)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "HttpClientError")
      assert.strictEqual(error.reason._tag, "TransportError")
      assert.strictEqual((error.reason.cause as { readonly _tag?: string })._tag, "ServiceUnavailable")
    }))
})
