// Effect: a layer providing HttpClient.HttpClient, on another HttpClient and a TokenClient.
import { TokenClient, TokenHttpClient } from "@tokenbus/client"
import { Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"

export const withEffect = (url: string, servers: Array<string>) =>
  Effect.gen(function*() {
    const response = yield* (yield* HttpClient.HttpClient).get(url)
    return response.status
  }).pipe(Effect.provide(TokenHttpClient.layer("project44").pipe(
    Layer.provide([FetchHttpClient.layer, TokenClient.layerConnect({ nats: { servers } })])
  )))
