/**
 * Writes a JSON response. Every answer of the simulated upstream goes through
 * here so status, headers and body encoding stay uniform.
 */
import type { ServerResponse } from "node:http"

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
