/**
 * `/_sim/*`: HTTP controls for callers outside the process that started the
 * sim (the demo, child processes). They mirror the in-process control methods
 * and never touch the counters or the rate limit.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Option, Schema } from "effect"
import { readBody } from "./readBody.ts"
import { sendJson } from "./sendJson.ts"
import type { SimState } from "./SimState.ts"

export const ADMIN_PREFIX = "/_sim/"

const decodeRevokeRequest = Schema.decodeUnknownOption(
  Schema.fromJsonString(Schema.Struct({ access_token: Schema.String }))
)

export const handleAdminRequest = (
  state: SimState,
  path: string,
  req: IncomingMessage,
  res: ServerResponse
): void => {
  const route = `${req.method ?? ""} ${path}`
  if (route === "GET /_sim/counters") {
    req.resume()
    return sendJson(res, 200, { ...state.counters })
  }
  if (route === "POST /_sim/revoke") return revoke(state, req, res)
  if (route === "POST /_sim/revoke-all") {
    req.resume()
    state.registry.revokeAll()
    return sendJson(res, 200, { ok: true })
  }
  req.resume()
  sendJson(res, 404, { error: "not_found" })
}

const revoke = (state: SimState, req: IncomingMessage, res: ServerResponse): void => {
  readBody(req).then(
    (body) => {
      const request = decodeRevokeRequest(body)
      if (Option.isNone(request)) {
        return sendJson(res, 400, { error: "invalid_request", error_description: 'Expected JSON {"access_token": string}' })
      }
      state.registry.revoke(request.value.access_token)
      sendJson(res, 200, { ok: true })
    },
    () => undefined
  )
}
