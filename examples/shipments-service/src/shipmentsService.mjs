/**
 * The shipments service: `GET /shipments` answers with project44's
 * shipments, fetched with the token tokenbus holds for "project44". The
 * client keeps that token current; after a 401 it gets a new one and retries
 * once, so this code never sees an expired or revoked token it could have
 * avoided. When no token can be had (tokenbus or NATS down, nothing held),
 * it answers 503.
 */
import { createServer } from "node:http"
import { TokenbusClient } from "@tokenbus/client"

const sendJson = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

const shipments = async (tokens, shipmentsUrl, res) => {
  try {
    const upstream = await tokens.fetch("project44", shipmentsUrl, { headers: { accept: "application/json" } })
    sendJson(res, upstream.status, await upstream.json())
  } catch (error) {
    // Only the error's tag: a token never reaches a log or an answer.
    const unavailable = error?._tag === "ServiceUnavailable"
    sendJson(res, unavailable ? 503 : 502, { error: unavailable ? "tokenbus unavailable" : "upstream failed" })
  }
}

/**
 * Connects to tokenbus (`nats: { servers }`, `prefix`) and listens on
 * `port` (0: any free one). Resolves with the service's URL and `close`.
 */
export const startShipmentsService = async ({ nats, prefix, shipmentsUrl, port = 0, host = "127.0.0.1" }) => {
  const tokens = await TokenbusClient.connect({ nats, ...(prefix === undefined ? {} : { prefix }) })
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/shipments") return void shipments(tokens, shipmentsUrl, res)
    sendJson(res, 404, { error: "not found" })
  })
  await new Promise((resolve) => server.listen(port, host, resolve))
  const close = async () => {
    await new Promise((resolve) => server.close(resolve))
    await tokens.close()
  }
  return { url: `http://${host}:${server.address().port}`, close }
}
