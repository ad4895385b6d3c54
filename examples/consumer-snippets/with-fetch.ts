// fetch: TokenbusClient's own, one call at a time.
import type { TokenbusClient } from "@tokenbus/client"

export const withFetch = async (tokens: TokenbusClient, url: string) => {
  const response = await tokens.fetch("project44", url, { headers: { accept: "application/json" } })
  return response.json()
}
