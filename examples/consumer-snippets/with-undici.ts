// undici (`npm install undici`): an interceptor on a dispatcher, for request, fetch and stream.
import type { TokenbusClient } from "@tokenbus/client"
import { undiciInterceptor } from "@tokenbus/client/undici"
import { Agent, request } from "undici"

export const withUndici = async (tokens: TokenbusClient, url: string) => {
  const dispatcher = new Agent().compose(undiciInterceptor(tokens, "project44"))
  const { statusCode, body } = await request(url, { dispatcher })
  return { statusCode, body: await body.json() }
}
