/**
 * Writes a JSON response. Every answer of the simulated upstreams goes through
 * here so status, headers and body encoding stay uniform; token answers add
 * `NO_STORE`.
 */
import type { ServerResponse } from "node:http"

// RFC 6749 §5.1: token answers must not be cached by anything in between.
export const NO_STORE: Readonly<Record<string, string>> = { "Cache-Control": "no-store", Pragma: "no-cache" }

export const sendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {}
): void => {
  // The client may have given up (timeout, abort) while we were delaying.
  if (res.destroyed || res.writableEnded) return
  const payload = JSON.stringify(body)
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(payload))
  })
  res.end(payload)
}
