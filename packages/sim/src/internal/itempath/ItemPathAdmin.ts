/**
 * `/_sim/*` on the ItemPath simulator: HTTP controls for callers outside the
 * process that started it (the demo, child processes). They mirror the
 * in-process control methods and never touch the counters.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Option, Schema } from "effect"
import { readBody } from "../readBody.ts"
import { sendJson } from "../sendJson.ts"
import type { ItemPathState } from "./ItemPathState.ts"

export const ADMIN_PREFIX = "/_sim/"

const decodeRevokeRequest = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Struct({ token: Schema.String })))

export const handleItemPathAdmin = (
  state: ItemPathState,
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
  if (route === "POST /_sim/revoke-refresh-tokens") return done(req, res, () => state.tokens.revokeKind("refresh"))
  if (route === "POST /_sim/revoke-all") return done(req, res, () => state.tokens.revokeAll())
  req.resume()
  sendJson(res, 404, { error: "not_found" })
}

const done = (req: IncomingMessage, res: ServerResponse, action: () => void): void => {
  req.resume()
  action()
  sendJson(res, 200, { ok: true })
}

const revoke = (state: ItemPathState, req: IncomingMessage, res: ServerResponse): void => {
  readBody(req).then(
    (body) => {
      const request = decodeRevokeRequest(body)
      if (Option.isNone(request)) {
        return sendJson(res, 400, { error: "invalid_request", error_description: 'Expected JSON {"token": string}' })
      }
      state.tokens.revoke(request.value.token)
      sendJson(res, 200, { ok: true })
    },
    () => undefined
  )
}
