// The examples of README.md's "HTTP integrations", line for line, kept here
// so that the type check covers them: each function holds one, with the
// names the README leaves to the reader as its parameters. Nothing runs
// them; the tests beside this file run the same integrations against the
// simulated project44.
import { type TokenbusClient, TokenClient, TokenHttpClient } from "@tokenbus/client"
import { axiosInterceptors } from "@tokenbus/client/axios"
import { undiciInterceptor } from "@tokenbus/client/undici"
import axios from "axios"
import { Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { Agent, request } from "undici"

export const withFetch = async (tokens: TokenbusClient, url: string, body: string) => {
  // fetch: per call
  await tokens.fetch("project44", url, { method: "POST", body, retryNonIdempotent: true })
}

export const withUndici = async (tokens: TokenbusClient, url: string) => {
  // undici (`@tokenbus/client/undici`): a dispatcher for request, fetch, stream
  const dispatcher = new Agent().compose(undiciInterceptor(tokens, "project44"))
  const { statusCode, body } = await request(url, { dispatcher })
  return { statusCode, body: await body.json() }
}

export const withAxios = async (tokens: TokenbusClient, shipment: object) => {
  // axios (`@tokenbus/client/axios`): on an instance; returns a function that removes them
  const project44 = axios.create({ baseURL: "https://na12.api.project44.com" })
  const remove = axiosInterceptors(project44, tokens, "project44")
  await project44.post("/api/v4/shipments", shipment, { tokenbus: { retryNonIdempotent: true } })
  remove()
}

export const withEffect = (url: string, servers: Array<string>) => {
  // Effect: a layer providing HttpClient.HttpClient, on another HttpClient and a TokenClient
  const program = Effect.gen(function*() {
    const response = yield* (yield* HttpClient.HttpClient).get(url)
    return response.status
  }).pipe(Effect.provide(TokenHttpClient.layer("project44").pipe(
    Layer.provide([FetchHttpClient.layer, TokenClient.layerConnect({ nats: { servers } })])
  )))
  return program
}
