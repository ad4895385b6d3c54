// After a 401 the client retries once, and a POST only when you say it is safe to repeat.
import type { TokenbusClient } from "@tokenbus/client"

export const createShipment = async (tokens: TokenbusClient, url: string, shipment: object, key: string) => {
  const body = JSON.stringify(shipment)
  const headers = { "content-type": "application/json" }
  // The upstream deduplicates by Idempotency-Key, so a retry cannot create a second shipment.
  const keyed = await tokens.fetch("project44", url, {
    method: "POST",
    body,
    headers: { ...headers, "Idempotency-Key": key }
  })
  // Or: you know a 401 means the upstream did nothing with the request.
  const told = await tokens.fetch("project44", url, { method: "POST", body, headers, retryNonIdempotent: true })
  // Still 401: a second refusal, or the rate budget makes the next token wait (it arrives by broadcast).
  return [keyed.status, told.status]
}
